// Shared pieces: data loading with loading/error/empty states, formatting, small widgets.
import { useCallback, useEffect, useState, type ReactNode } from 'react';
import { api, ApiError } from './api';

/** The state of one API read. */
export interface Loaded<T> {
  data: T | undefined;
  error: ApiError | Error | undefined;
  loading: boolean;
  reload: () => void;
}

/** Reads `path` (GET) whenever it changes; null skips. */
export function useApi<T>(path: string | null): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: Error; loading: boolean }>({
    loading: true,
  });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (path === null) return;
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    api<T>('GET', path)
      .then((data) => live && setState({ data, loading: false }))
      .catch((error: Error) => live && setState({ error, loading: false }));
    return () => {
      live = false;
    };
  }, [path, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data: state.data, error: state.error, loading: state.loading, reload };
}

/** Shows loading, the server's error, or `children` once `loaded` has data. */
export function Loading<T>(props: {
  loaded: Loaded<T>;
  children: (data: T) => ReactNode;
}): ReactNode {
  const { data, error, loading } = props.loaded;
  if (error) return <ErrorBox error={error} />;
  if (data === undefined || (loading && data === undefined))
    return (
      <p className="muted" role="status" aria-live="polite">
        Loading…
      </p>
    );
  return props.children(data);
}

/** An error as the server stated it. */
export function ErrorBox(props: { error: Error | undefined }): ReactNode {
  if (!props.error) return null;
  const code = props.error instanceof ApiError ? `${props.error.code}: ` : '';
  return (
    <div className="error" role="alert">
      {code}
      {props.error.message}
    </div>
  );
}

/**
 * A list read from the API as a table labelled `label`: loading and error states, `empty` when
 * there is nothing, else a row per item under `headings` (and an unnamed actions column).
 */
export function LoadedTable<T>(props: {
  loaded: Loaded<T[]>;
  label: string;
  empty: ReactNode;
  headings: string[];
  actions?: boolean;
  row: (item: T) => ReactNode;
}): ReactNode {
  return (
    <Loading loaded={props.loaded}>
      {(items) =>
        items.length === 0 ? (
          <Empty>{props.empty}</Empty>
        ) : (
          <table aria-label={props.label}>
            <thead>
              <tr>
                {props.headings.map((h) => (
                  <th key={h}>{h}</th>
                ))}
                {props.actions && <th aria-label="Actions" />}
              </tr>
            </thead>
            <tbody>{items.map(props.row)}</tbody>
          </table>
        )
      }
    </Loading>
  );
}

/** A message for an empty list. */
export function Empty(props: { children: ReactNode }): ReactNode {
  return <p className="empty">{props.children}</p>;
}

/** Bytes in binary units. */
export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u += 1;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

/** A time as "3 minutes ago", with the exact time on hover. */
export function Ago(props: { at: string | null | undefined }): ReactNode {
  if (!props.at) return <span className="muted">never</span>;
  const seconds = Math.round((Date.now() - Date.parse(props.at)) / 1000);
  const steps: [number, string][] = [
    [60, 'second'],
    [60, 'minute'],
    [24, 'hour'],
    [30, 'day'],
    [12, 'month'],
    [Infinity, 'year'],
  ];
  let v = Math.max(0, seconds);
  let unit = 'second';
  for (const [size, name] of steps) {
    unit = name;
    if (v < size) break;
    v = Math.floor(v / size);
  }
  return (
    <time dateTime={props.at} title={new Date(props.at).toLocaleString()}>
      {v <= 1 && unit === 'second' ? 'just now' : `${v} ${unit}${v === 1 ? '' : 's'} ago`}
    </time>
  );
}

/** A digest shortened for tables, the whole one on hover. */
export function ShortDigest(props: { digest: string }): ReactNode {
  return <code title={props.digest}>{props.digest.replace(/^sha256:/, '').slice(0, 12)}</code>;
}

/** A button that copies `text`, saying so. */
export function CopyButton(props: { text: string; label?: string }): ReactNode {
  const [done, setDone] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(props.text);
    } catch {
      const area = document.createElement('textarea');
      area.value = props.text;
      document.body.append(area);
      area.select();
      document.execCommand('copy');
      area.remove();
    }
    setDone(true);
    setTimeout(() => setDone(false), 1500);
  };
  return (
    <button
      type="button"
      className="small"
      onClick={() => void copy()}
      aria-label={props.label ?? 'Copy'}
    >
      {done ? 'Copied' : 'Copy'}
    </button>
  );
}

/** Runs an action, keeping its error to show and a busy flag. */
export function useAction(): {
  busy: boolean;
  error: Error | undefined;
  run: (work: () => Promise<unknown>) => Promise<boolean>;
  clear: () => void;
} {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error>();
  const run = async (work: () => Promise<unknown>) => {
    setBusy(true);
    setError(undefined);
    try {
      await work();
      return true;
    } catch (err) {
      setError(err as Error);
      return false;
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, run, clear: () => setError(undefined) };
}

/** A visibility badge. */
export function Visibility(props: { value: string }): ReactNode {
  return <span className={`badge ${props.value}`}>{props.value}</span>;
}

/**
 * A one-field form (`label`, a text input, `button`), with `children` for extra controls; the
 * field clears once `onSubmit` succeeds.
 */
export function NameForm(props: {
  label: string;
  placeholder: string;
  button: string;
  onSubmit: (value: string) => Promise<boolean>;
  children?: ReactNode;
}): ReactNode {
  const [value, setValue] = useState('');
  return (
    <form
      className="inline-form"
      onSubmit={(e) => {
        e.preventDefault();
        void props.onSubmit(value).then((ok) => ok && setValue(''));
      }}
    >
      <label>
        {props.label}
        <input
          required
          value={value}
          onChange={(e) => setValue(e.target.value)}
          placeholder={props.placeholder}
        />
      </label>
      {props.children}
      <button type="submit">{props.button}</button>
    </form>
  );
}

/** Previous / next page buttons around `children` (the position). */
export function Pager(props: {
  previous: (() => void) | undefined;
  next: (() => void) | undefined;
  previousLabel?: string;
  nextLabel?: string;
  children?: ReactNode;
}): ReactNode {
  return (
    <nav className="pager" aria-label="Pages">
      <button type="button" className="small" disabled={!props.previous} onClick={props.previous}>
        {props.previousLabel ?? 'Previous'}
      </button>
      {props.children}
      <button type="button" className="small" disabled={!props.next} onClick={props.next}>
        {props.nextLabel ?? 'Next'}
      </button>
    </nav>
  );
}
