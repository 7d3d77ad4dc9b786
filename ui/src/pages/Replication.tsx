// Upstreams, pull-through caches and replication (administrators): upstream registries with a
// connection test, namespaces that cache them, replication rules with "Run now", and executions
// with their per-image progress and log.
import { useState, type ReactNode } from 'react';
import { api } from '../api';
import { Ago, Empty, ErrorBox, Loading, useAction, useApi } from '../ui';

interface Upstream {
  name: string;
  urls: string[];
  username: string | null;
  hasPassword: boolean;
}

interface CacheNamespace {
  namespace: string;
  upstream: string;
  upstreamPrefix: string;
  freshness: number;
  localFirst: boolean;
  mirror: boolean;
}

interface Rule {
  name: string;
  enabled: boolean;
  settings: {
    direction: string;
    upstream: string;
    repositories: string[];
    everySeconds: number | null;
    onPush: boolean;
  };
}

interface Execution {
  id: number;
  trigger: string;
  state: string;
  items: { repository: string; tag: string | null; action: string; state: string }[];
  queuedAt: number;
  log: string;
}

const text = (form: FormData, key: string) => String(form.get(key) ?? '').trim();

function Upstreams(): ReactNode {
  const loaded = useApi<Upstream[]>('/api/v1/upstreams');
  const action = useAction();
  const [result, setResult] = useState<string>();
  return (
    <section>
      <h2>Upstreams</h2>
      <ErrorBox error={action.error} />
      {result && (
        <div className="notice" role="status">
          {result}
        </div>
      )}
      <Loading loaded={loaded}>
        {(upstreams) =>
          upstreams.length === 0 ? (
            <Empty>No upstreams.</Empty>
          ) : (
            <table aria-label="Upstreams">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>URLs</th>
                  <th>Account</th>
                  <th aria-label="Actions" />
                </tr>
              </thead>
              <tbody>
                {upstreams.map((u) => (
                  <tr key={u.name}>
                    <td>{u.name}</td>
                    <td>{u.urls.join(', ')}</td>
                    <td>{u.username ?? 'anonymous'}</td>
                    <td>
                      <button
                        type="button"
                        className="small"
                        onClick={() =>
                          void action.run(async () => {
                            const r = await api<{ ok: boolean; url?: string; error?: string }>(
                              'POST',
                              `/api/v1/upstreams/${u.name}/test`,
                            );
                            setResult(
                              r.ok ? `${u.name} answers at ${r.url}` : `${u.name}: ${r.error}`,
                            );
                          })
                        }
                      >
                        Test connection
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Loading>
      <form
        className="panel"
        aria-label="Add an upstream"
        onSubmit={(e) => {
          e.preventDefault();
          const form = new FormData(e.currentTarget);
          void action
            .run(() =>
              api('PUT', `/api/v1/upstreams/${text(form, 'name')}`, {
                urls: text(form, 'urls')
                  .split(/[\s,]+/)
                  .filter(Boolean),
                ...(text(form, 'username') ? { username: text(form, 'username') } : {}),
                ...(text(form, 'password') ? { password: text(form, 'password') } : {}),
              }),
            )
            .then(loaded.reload);
        }}
      >
        <h3>Add an upstream</h3>
        <label>
          Name
          <input name="name" required pattern="[a-z0-9][a-z0-9-]{0,31}" />
        </label>
        <label>
          URLs (tried in order)
          <input name="urls" required placeholder="https://registry-1.docker.io" />
        </label>
        <label>
          Username
          <input name="username" />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="new-password" />
        </label>
        <button type="submit">Save upstream</button>
      </form>
    </section>
  );
}

function Caches(): ReactNode {
  const loaded = useApi<CacheNamespace[]>('/api/v1/cache/namespaces');
  const action = useAction();
  return (
    <section>
      <h2>Pull-through caches</h2>
      <ErrorBox error={action.error} />
      <Loading loaded={loaded}>
        {(caches) =>
          caches.length === 0 ? (
            <Empty>No cache namespaces.</Empty>
          ) : (
            <table aria-label="Cache namespaces">
              <thead>
                <tr>
                  <th>Namespace</th>
                  <th>Upstream</th>
                  <th>Freshness</th>
                  <th>Mode</th>
                </tr>
              </thead>
              <tbody>
                {caches.map((c) => (
                  <tr key={c.namespace}>
                    <td>{c.namespace}/</td>
                    <td>
                      {c.upstream}
                      {c.upstreamPrefix ? ` (${c.upstreamPrefix})` : ''}
                    </td>
                    <td>{c.freshness} s</td>
                    <td>
                      {c.localFirst ? 'local first' : 'checked upstream'}
                      {c.mirror ? ', registry mirror' : ''}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Loading>
      <form
        className="panel"
        aria-label="Add a cache"
        onSubmit={(e) => {
          e.preventDefault();
          const form = new FormData(e.currentTarget);
          void action
            .run(() =>
              api('PUT', `/api/v1/cache/namespaces/${text(form, 'namespace')}`, {
                upstream: text(form, 'upstream'),
                upstreamPrefix: text(form, 'prefix'),
                freshness: Number(text(form, 'freshness') || '300'),
                localFirst: form.get('localFirst') === 'on',
                mirror: form.get('mirror') === 'on',
              }),
            )
            .then(loaded.reload);
        }}
      >
        <h3>Add a cache</h3>
        <label>
          Namespace
          <input name="namespace" required placeholder="hub" />
        </label>
        <label>
          Upstream
          <input name="upstream" required />
        </label>
        <label>
          Prefix upstream
          <input name="prefix" placeholder="library/" />
        </label>
        <label>
          Freshness (seconds)
          <input name="freshness" type="number" min={0} defaultValue={300} />
        </label>
        <label className="check">
          <input type="checkbox" name="localFirst" /> Local first (never re-check cached tags)
        </label>
        <label className="check">
          <input type="checkbox" name="mirror" /> Answer registry-mirrors requests
        </label>
        <button type="submit">Save cache</button>
      </form>
    </section>
  );
}

function Rules(): ReactNode {
  const rules = useApi<Rule[]>('/api/v1/replication/rules');
  const executions = useApi<Execution[]>('/api/v1/replication/executions');
  const action = useAction();
  const [shown, setShown] = useState<Execution>();
  return (
    <section>
      <h2>Replication rules</h2>
      <ErrorBox error={action.error} />
      <Loading loaded={rules}>
        {(list) =>
          list.length === 0 ? (
            <Empty>No replication rules.</Empty>
          ) : (
            <table aria-label="Replication rules">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Direction</th>
                  <th>Repositories</th>
                  <th>Triggers</th>
                  <th aria-label="Actions" />
                </tr>
              </thead>
              <tbody>
                {list.map((r) => (
                  <tr key={r.name}>
                    <td>{r.name}</td>
                    <td>
                      {r.settings.direction} {r.settings.direction === 'push' ? 'to' : 'from'}{' '}
                      {r.settings.upstream}
                    </td>
                    <td>{r.settings.repositories.join(', ')}</td>
                    <td>
                      {[
                        r.settings.onPush && 'on push',
                        r.settings.everySeconds && `every ${r.settings.everySeconds} s`,
                        'by hand',
                      ]
                        .filter(Boolean)
                        .join(', ')}
                    </td>
                    <td>
                      <button
                        type="button"
                        className="small"
                        onClick={() =>
                          void action
                            .run(() => api('POST', `/api/v1/replication/rules/${r.name}/run`))
                            .then(executions.reload)
                        }
                      >
                        Run now
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Loading>
      <h3>Executions</h3>
      <button type="button" className="small secondary" onClick={executions.reload}>
        Refresh
      </button>
      <Loading loaded={executions}>
        {(list) =>
          list.length === 0 ? (
            <Empty>No executions yet.</Empty>
          ) : (
            <table aria-label="Executions">
              <thead>
                <tr>
                  <th>#</th>
                  <th>Trigger</th>
                  <th>State</th>
                  <th>Images</th>
                  <th>Queued</th>
                  <th aria-label="Log" />
                </tr>
              </thead>
              <tbody>
                {list.map((e) => (
                  <tr key={e.id}>
                    <td>{e.id}</td>
                    <td>{e.trigger}</td>
                    <td>
                      <span
                        className={`badge ${e.state === 'succeeded' ? 'success' : e.state === 'failed' ? 'failure' : ''}`}
                      >
                        {e.state}
                      </span>
                    </td>
                    <td>
                      {e.items.filter((i) => i.state === 'done').length} / {e.items.length}
                    </td>
                    <td>
                      <Ago at={new Date(e.queuedAt).toISOString()} />
                    </td>
                    <td>
                      <button type="button" className="small secondary" onClick={() => setShown(e)}>
                        Log
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Loading>
      {shown && (
        <pre className="payload" aria-label="Execution log">
          {shown.log || '(empty)'}
        </pre>
      )}
    </section>
  );
}

/** The replication page. */
export function ReplicationPage(): ReactNode {
  return (
    <section className="replication">
      <h1>Replication and caches</h1>
      <Upstreams />
      <Caches />
      <Rules />
    </section>
  );
}
