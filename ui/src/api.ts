// The management API client: bearer tokens from a web session, errors carrying the server's message.

/** An error answer of the API, with the server's code and message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Who is signed in, and the credential that renews their bearer token. */
export interface Session {
  user: { name: string; admin: boolean };
  /** A refresh token (password sign-in) or the access token itself. */
  credential: string;
}

const KEY = 'berth.session';
let bearer: { token: string; until: number } | undefined;
const listeners = new Set<() => void>();

/** The current session, if any. */
export function currentSession(): Session | undefined {
  const text = sessionStorage.getItem(KEY);
  return text ? (JSON.parse(text) as Session) : undefined;
}

/** Calls `listener` whenever the session changes; returns an unsubscribe function. */
export function onSessionChange(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function setSession(session: Session | undefined): void {
  if (session) sessionStorage.setItem(KEY, JSON.stringify(session));
  else sessionStorage.removeItem(KEY);
  listeners.forEach((l) => l());
}

async function readJson(res: Response): Promise<unknown> {
  const text = await res.text();
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function errorOf(status: number, body: unknown): ApiError {
  const first = (body as { errors?: { code?: string; message?: string }[] } | undefined)
    ?.errors?.[0];
  return new ApiError(
    status,
    first?.code ?? 'ERROR',
    first?.message ?? `the server answered ${status}`,
  );
}

async function rawCall(
  method: string,
  path: string,
  body?: unknown,
  token?: string,
): Promise<unknown> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const parsed = await readJson(res);
  if (!res.ok) throw errorOf(res.status, parsed);
  return parsed;
}

async function bearerToken(): Promise<string | undefined> {
  const session = currentSession();
  if (!session) return undefined;
  if (session.credential.startsWith('berth_pat_')) return session.credential;
  if (bearer && bearer.until > Date.now()) return bearer.token;
  try {
    const fresh = (await rawCall('POST', '/api/v1/session/token', {
      refreshToken: session.credential,
    })) as { token: string; expiresIn: number };
    bearer = { token: fresh.token, until: Date.now() + (fresh.expiresIn - 30) * 1000 };
    return fresh.token;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) setSession(undefined);
    throw err;
  }
}

/** Calls the API as the signed-in user (or anonymously); throws ApiError with the server's message. */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  return (await rawCall(method, path, body, await bearerToken())) as T;
}

/** Signs in with a password or an access token. */
export async function signIn(username: string, password: string): Promise<Session> {
  const answer = (await rawCall('POST', '/api/v1/session', { username, password })) as {
    user: Session['user'];
    token: string;
    expiresIn: number;
    refreshToken: string | null;
  };
  bearer = { token: answer.token, until: Date.now() + (answer.expiresIn - 30) * 1000 };
  const session = { user: answer.user, credential: answer.refreshToken ?? password };
  setSession(session);
  return session;
}

/** Signs out, revoking the refresh token. */
export async function signOut(): Promise<void> {
  const session = currentSession();
  bearer = undefined;
  setSession(undefined);
  if (session && !session.credential.startsWith('berth_pat_'))
    await rawCall('DELETE', '/api/v1/session', { refreshToken: session.credential }).catch(
      () => {},
    );
}

/**
 * Follows a Server-Sent Events answer of the API as the signed-in user (EventSource cannot send
 * the bearer token): `onData` gets each message's data, `onEnd` the `end` event. Returns a
 * function that stops following.
 */
export function followEvents(
  path: string,
  onData: (data: string) => void,
  onEnd: () => void,
): () => void {
  const controller = new AbortController();
  void (async () => {
    const token = await bearerToken();
    const res = await fetch(path, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
      signal: controller.signal,
    });
    if (!res.ok || !res.body) throw errorOf(res.status, await readJson(res));
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffered = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return onEnd();
      buffered += value;
      const messages = buffered.split('\n\n');
      buffered = messages.pop() ?? '';
      for (const message of messages) {
        const lines = message.split('\n');
        if (lines.some((l) => l === 'event: end')) return onEnd();
        const data = lines.filter((l) => l.startsWith('data: ')).map((l) => l.slice(6));
        if (data.length > 0) onData(data.join('\n'));
      }
    }
  })().catch(() => onEnd());
  return () => controller.abort();
}
