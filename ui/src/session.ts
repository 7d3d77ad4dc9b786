// The signed-in session as a React hook.
import { useSyncExternalStore } from 'react';
import { currentSession, onSessionChange, type Session } from './api';

/** The current session, re-rendering when it changes. */
export function useSession(): Session | undefined {
  const text = useSyncExternalStore(onSessionChange, () => sessionStorage.getItem('berth.session'));
  return text ? currentSession() : undefined;
}
