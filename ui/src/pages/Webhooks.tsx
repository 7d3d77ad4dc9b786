// Webhooks of a repository, an organisation or the whole registry, with their delivery log.
import { useState, type ReactNode } from 'react';
import { api } from '../api';
import { Ago, Empty, ErrorBox, Loading, useAction, useApi } from '../ui';

interface Webhook {
  id: number;
  url: string;
  format: string;
  events: string[];
  filters: { tags?: string; repositories?: string };
  enabled: boolean;
  secrets: { hint: string; expiresAt: string | null }[];
  circuit: { failures: number; openUntil: string | null };
}

interface Delivery {
  id: number;
  eventType: string;
  createdAt: string;
  state: 'pending' | 'succeeded' | 'dead';
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  nextAttemptAt: string | null;
  callback: { state: string } | null;
}

interface DeliveryDetail extends Delivery {
  body: string;
  log: {
    at: string;
    status: number | null;
    latencyMs: number;
    error: string | null;
    responseBody: string | null;
    requestHeaders: Record<string, string>;
  }[];
}

const EVENTS = [
  'manifest.pushed',
  'manifest.deleted',
  'tag.deleted',
  'manifest.pulled',
  'blob.uploaded',
  'repository.created',
  'repository.deleted',
  'repository.visibility',
  'trust.published',
  'build.succeeded',
  'build.failed',
];
const GLOBAL_EVENTS = ['account.changed', 'login', 'gc.finished'];

function AttemptLog(props: { hook: number; delivery: number }): ReactNode {
  const loaded = useApi<DeliveryDetail>(
    `/api/v1/webhooks/${props.hook}/deliveries/${props.delivery}`,
  );
  return (
    <Loading loaded={loaded}>
      {(d) => (
        <div className="panel">
          <h4>
            Body · {d.log.length} attempt{d.log.length === 1 ? '' : 's'}
          </h4>
          <pre className="payload">{d.body}</pre>
          <table>
            <thead>
              <tr>
                <th>When</th>
                <th>Status</th>
                <th>Latency</th>
                <th>Answer or error</th>
              </tr>
            </thead>
            <tbody>
              {d.log.map((a) => (
                <tr key={a.at + String(a.status)}>
                  <td>
                    <Ago at={a.at} />
                  </td>
                  <td>{a.status ?? '–'}</td>
                  <td>{a.latencyMs} ms</td>
                  <td>
                    <code>{a.error ?? a.responseBody ?? ''}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Loading>
  );
}

function Deliveries(props: { hook: number }): ReactNode {
  const loaded = useApi<Delivery[]>(`/api/v1/webhooks/${props.hook}/deliveries?n=20`);
  const [open, setOpen] = useState<number>();
  const action = useAction();
  return (
    <Loading loaded={loaded}>
      {(rows) =>
        rows.length === 0 ? (
          <Empty>No deliveries yet.</Empty>
        ) : (
          <>
            <ErrorBox error={action.error} />
            <table aria-label={`Deliveries of webhook ${props.hook}`}>
              <thead>
                <tr>
                  <th>Event</th>
                  <th>State</th>
                  <th>Attempts</th>
                  <th>Last status</th>
                  <th>Made</th>
                  <th aria-label="Actions" />
                </tr>
              </thead>
              <tbody>
                {rows.map((d) => (
                  <tr key={d.id}>
                    <td>{d.eventType}</td>
                    <td>
                      <span className={`badge delivery-${d.state}`}>{d.state}</span>
                      {d.callback && <span className="muted"> · receiver: {d.callback.state}</span>}
                    </td>
                    <td>{d.attempts}</td>
                    <td>{d.lastStatus ?? d.lastError ?? '–'}</td>
                    <td>
                      <Ago at={d.createdAt} />
                    </td>
                    <td>
                      <button
                        type="button"
                        className="small secondary"
                        onClick={() => setOpen(open === d.id ? undefined : d.id)}
                      >
                        {open === d.id ? 'Hide' : 'Attempts'}
                      </button>{' '}
                      {d.state !== 'pending' && (
                        <button
                          type="button"
                          className="small secondary"
                          onClick={() =>
                            void action
                              .run(() =>
                                api(
                                  'POST',
                                  `/api/v1/webhooks/${props.hook}/deliveries/${d.id}/redeliver`,
                                ),
                              )
                              .then(() => loaded.reload())
                          }
                        >
                          Redeliver
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            {open !== undefined && <AttemptLog hook={props.hook} delivery={open} />}
          </>
        )
      }
    </Loading>
  );
}

function NewWebhook(props: { path: string; global: boolean; onCreated: () => void }): ReactNode {
  const [secret, setSecret] = useState<string>();
  const action = useAction();
  const events = props.global ? [...EVENTS, ...GLOBAL_EVENTS] : EVENTS;
  return (
    <form
      className="panel"
      aria-label="Add a webhook"
      onSubmit={(e) => {
        e.preventDefault();
        const form = new FormData(e.currentTarget);
        const tags = String(form.get('tags') ?? '');
        const body = {
          url: String(form.get('url')),
          format: String(form.get('format')),
          events: form.getAll('events').map(String),
          ...(tags ? { filters: { tags } } : {}),
        };
        void action
          .run(async () => {
            const made = await api<{ secret: string }>('POST', props.path, body);
            setSecret(made.secret);
          })
          .then((ok) => ok && props.onCreated());
      }}
    >
      <h3>Add a webhook</h3>
      <label>
        Payload URL
        <input name="url" type="url" required placeholder="https://ci.example.com/hooks/berth" />
      </label>
      <label>
        Format
        <select name="format" defaultValue="hub">
          <option value="hub">Docker Hub</option>
          <option value="distribution">Registry notifications (distribution)</option>
          <option value="cloudevents">CloudEvents 1.0</option>
        </select>
      </label>
      <fieldset>
        <legend>Events</legend>
        {events.map((e) => (
          <label key={e} className="check">
            <input
              type="checkbox"
              name="events"
              value={e}
              defaultChecked={e === 'manifest.pushed'}
            />{' '}
            {e}
          </label>
        ))}
      </fieldset>
      <label>
        Only tags matching (regular expression, optional)
        <input name="tags" placeholder="v[0-9].*" />
      </label>
      <button type="submit" disabled={action.busy}>
        Add webhook
      </button>
      <ErrorBox error={action.error} />
      {secret && (
        <div className="notice" role="status">
          Signing secret (shown once): <code>{secret}</code>
        </div>
      )}
    </form>
  );
}

/** The webhooks listed at `path` (a repository's, an organisation's or the global ones). */
export function Webhooks(props: { path: string; global?: boolean }): ReactNode {
  const loaded = useApi<Webhook[]>(props.path);
  const action = useAction();
  const [version, setVersion] = useState(0);
  const [result, setResult] = useState<string>();
  const refresh = () => {
    loaded.reload();
    setVersion((v) => v + 1);
  };
  return (
    <div className="webhooks">
      <h2>Webhooks</h2>
      <p className="muted">
        Deliveries are signed (<code>webhook-signature</code>, Standard Webhooks), retried with
        backoff for a day, and kept in order per webhook.
      </p>
      <ErrorBox error={action.error} />
      {result && (
        <div className="notice" role="status">
          {result}
        </div>
      )}
      <Loading loaded={loaded}>
        {(hooks) =>
          hooks.length === 0 ? (
            <Empty>No webhooks.</Empty>
          ) : (
            <>
              {hooks.map((h) => (
                <article key={h.id} className="panel" aria-label={`Webhook ${h.id}`}>
                  <div className="title-row">
                    <h3>
                      <code>{h.url}</code>
                    </h3>
                    <div>
                      <button
                        type="button"
                        className="small"
                        onClick={() =>
                          void action
                            .run(async () => {
                              const r = await api<{
                                state: string;
                                status: number | null;
                                error: string | null;
                              }>('POST', `/api/v1/webhooks/${h.id}/test`);
                              setResult(
                                `Test event ${r.state}: ${r.status ?? r.error ?? 'no answer'}`,
                              );
                            })
                            .then(refresh)
                        }
                      >
                        Send test event
                      </button>{' '}
                      <button
                        type="button"
                        className="small secondary"
                        onClick={() =>
                          void action
                            .run(() => api('POST', `/api/v1/webhooks/${h.id}/redeliver`))
                            .then(refresh)
                        }
                      >
                        Redeliver failed
                      </button>{' '}
                      <button
                        type="button"
                        className="small danger"
                        onClick={() => {
                          if (window.confirm(`Delete the webhook to ${h.url}?`))
                            void action
                              .run(() => api('DELETE', `/api/v1/webhooks/${h.id}`))
                              .then(refresh);
                        }}
                      >
                        Delete
                      </button>
                    </div>
                  </div>
                  <p className="muted">
                    {h.format} · {h.events.join(', ')}
                    {h.filters.tags && ` · tags /${h.filters.tags}/`} · secret {h.secrets[0]?.hint}
                    {h.circuit.openUntil && ' · resting after repeated failures'}
                  </p>
                  <Deliveries key={version} hook={h.id} />
                </article>
              ))}
            </>
          )
        }
      </Loading>
      <NewWebhook path={props.path} global={props.global ?? false} onCreated={refresh} />
    </div>
  );
}
