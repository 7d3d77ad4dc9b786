// What the Cluster page's sections share: splitting a command line, showing labels, polling.
import { useEffect } from 'react';

/** A command line split into its words. */
export const words = (text: string) => text.split(/\s+/).filter(Boolean);
/** Labels as `k=v, …`. */
export const labelText = (labels: Record<string, string>) =>
  Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');

/** Reloads `reload` every few seconds while the page is open. */
export function usePolling(reload: () => void, ms = 3000): void {
  useEffect(() => {
    const timer = setInterval(reload, ms);
    return () => clearInterval(timer);
  }, [reload, ms]);
}
