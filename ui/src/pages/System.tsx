// The system page: version, health, storage, database, uptime; garbage collection with progress.
import { useEffect, useState, type ReactNode } from 'react';
import { api } from '../api';
import { Ago, ErrorBox, Loading, bytes, useAction, useApi } from '../ui';

interface GcStatus {
  state: string;
  phase: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  dryRun: boolean;
  manifests: number;
  links: number;
  blobs: number;
  bytesFreed: number;
  error: string | null;
}

interface SystemInfo {
  version: string;
  health: string;
  startedAt: string;
  uptimeSeconds: number;
  node: string;
  storage: {
    backend: string;
    path: string | null;
    blobs: number;
    bytes: number;
    disk: { total: number; free: number } | null;
  };
  database: {
    kind: string;
    path: string | null;
    bytes: number | null;
    repositories: number;
    manifests: number;
  };
  memory: { rss: number };
  gc: GcStatus;
}

function uptime(s: number): string {
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  return `${d ? `${d} d ` : ''}${h} h ${m} min`;
}

function Gc(props: { initial: GcStatus }): ReactNode {
  const [status, setStatus] = useState(props.initial);
  const [dryRun, setDryRun] = useState(false);
  const action = useAction();
  useEffect(() => {
    if (status.state !== 'running') return;
    const timer = setInterval(() => {
      void api<GcStatus>('GET', '/api/v1/system/gc')
        .then(setStatus)
        .catch(() => {});
    }, 500);
    return () => clearInterval(timer);
  }, [status.state]);
  return (
    <div className="panel">
      <h2>Garbage collection</h2>
      <p>
        State: <strong data-testid="gc-state">{status.state}</strong>
        {status.phase && <> · phase {status.phase}</>}
        {status.startedAt && (
          <>
            {' '}
            · started <Ago at={status.startedAt} />
          </>
        )}
      </p>
      {status.state !== 'idle' && (
        <p>
          {status.dryRun ? 'Would remove' : 'Removed'} {status.manifests} manifests, {status.links}{' '}
          blob links, {status.blobs} blobs ({bytes(status.bytesFreed)})
        </p>
      )}
      {status.error && <div className="error">{status.error}</div>}
      <label className="inline">
        <input type="checkbox" checked={dryRun} onChange={(e) => setDryRun(e.target.checked)} /> dry
        run (report only)
      </label>{' '}
      <button
        type="button"
        disabled={status.state === 'running' || action.busy}
        onClick={() =>
          void action.run(async () =>
            setStatus(await api<GcStatus>('POST', '/api/v1/system/gc', { dryRun })),
          )
        }
      >
        Start garbage collection
      </button>
      <ErrorBox error={action.error} />
    </div>
  );
}

export function SystemPage(): ReactNode {
  const loaded = useApi<SystemInfo>('/api/v1/system');
  return (
    <section>
      <h1>System</h1>
      <Loading loaded={loaded}>
        {(s) => (
          <>
            <dl className="facts">
              <dt>Version</dt>
              <dd>
                Berth {s.version} on Node {s.node}
              </dd>
              <dt>Health</dt>
              <dd>
                <span className={`badge ${s.health === 'ok' ? 'success' : 'failure'}`}>
                  {s.health}
                </span>
              </dd>
              <dt>Uptime</dt>
              <dd>
                {uptime(s.uptimeSeconds)} (since <Ago at={s.startedAt} />)
              </dd>
              <dt>Storage</dt>
              <dd>
                {s.storage.backend} at <code>{s.storage.path}</code>: {s.storage.blobs} blobs,{' '}
                {bytes(s.storage.bytes)}
                {s.storage.disk && (
                  <>
                    {' '}
                    · disk {bytes(s.storage.disk.free)} free of {bytes(s.storage.disk.total)}
                  </>
                )}
              </dd>
              <dt>Database</dt>
              <dd>
                {s.database.kind} at <code>{s.database.path}</code> ({bytes(s.database.bytes)}):{' '}
                {s.database.repositories} repositories, {s.database.manifests} manifests
              </dd>
              <dt>Memory</dt>
              <dd>{bytes(s.memory.rss)} resident</dd>
            </dl>
            <Gc initial={s.gc} />
          </>
        )}
      </Loading>
    </section>
  );
}
