// Automated builds of a repository: its git source and rules, "build now", history and live logs.
import { useEffect, useState, type ReactNode } from 'react';
import { api, ApiError, followEvents } from '../api';
import { Ago, Empty, ErrorBox, Loading, ShortDigest, useAction, useApi } from '../ui';

interface Rule {
  sourceType: 'branch' | 'tag';
  source: string;
  tag: string;
  dockerfile: string;
  context: string;
}

interface BuildConfig {
  source: string;
  rules: Rule[];
  pollSeconds: number;
  enabled: boolean;
  disabledReason: string | null;
  hooks: Record<string, string>;
}

interface Build {
  id: number;
  ref: string;
  commit: string;
  tags: string[];
  trigger: string;
  state: string;
  queuedAt: string;
  durationSeconds: number | null;
  digest: string | null;
  error: string | null;
  queuePosition: number | null;
}

/** Follows a build's log over Server-Sent Events (fetch, so the bearer token goes along). */
function LiveLog(props: { id: number }): ReactNode {
  const [text, setText] = useState('');
  const [done, setDone] = useState(false);
  const loaded = useApi<{ log: string; state: string }>(`/api/v1/builds/${props.id}`);
  useEffect(() => {
    if (!loaded.data) return;
    setText(loaded.data.log);
    if (loaded.data.state !== 'queued' && loaded.data.state !== 'running') {
      setDone(true);
      return;
    }
    let first = true;
    return followEvents(
      `/api/v1/builds/${props.id}/log`,
      (data) => {
        // The first message is the whole log so far; then one line at a time.
        if (first) {
          first = false;
          setText(data);
        } else setText((t) => `${t}\n${data}`);
      },
      () => setDone(true),
    );
  }, [loaded.data, props.id]);
  return (
    <div className="panel">
      <h4>
        Log of build {props.id} {done ? '' : '(live)'}
      </h4>
      <pre className="payload build-log">{text || '…'}</pre>
    </div>
  );
}

function LinkForm(props: { name: string; onLinked: (secret?: string) => void }): ReactNode {
  const action = useAction();
  return (
    <form
      className="panel"
      aria-label="Link to a git repository"
      onSubmit={(e) => {
        e.preventDefault();
        const form = new FormData(e.currentTarget);
        void action.run(async () => {
          const made = await api<{ hookSecret?: string }>(
            'PUT',
            `/api/v1/repositories/${props.name}/_build`,
            {
              source: String(form.get('source')),
              rules: [
                {
                  sourceType: String(form.get('type')),
                  source: String(form.get('ref')),
                  tag: String(form.get('tag')),
                },
              ],
              pollSeconds: Number(form.get('poll') || 0),
            },
          );
          props.onLinked(made.hookSecret);
        });
      }}
    >
      <h3>Build from a git repository</h3>
      <label>
        Git URL
        <input name="source" required placeholder="https://git.example.com/team/app.git" />
      </label>
      <label>
        Source type
        <select name="type" defaultValue="branch">
          <option value="branch">branch</option>
          <option value="tag">tag</option>
        </select>
      </label>
      <label>
        Source (name or /regular expression/)
        <input name="ref" required defaultValue="main" />
      </label>
      <label>
        Docker tag ({'{sourceref}'}, {'{\\1}'}, {'{short_sha}'})
        <input name="tag" required defaultValue="latest" />
      </label>
      <label>
        Poll every (seconds, 0 for webhooks only)
        <input name="poll" type="number" min="0" defaultValue="0" />
      </label>
      <button type="submit" disabled={action.busy}>
        Link
      </button>
      <ErrorBox error={action.error} />
    </form>
  );
}

/** The builds section of a repository page (`write` may build, `admin` may link). */
export function Builds(props: { name: string; canBuild: boolean; admin: boolean }): ReactNode {
  const config = useApi<BuildConfig>(
    props.canBuild ? `/api/v1/repositories/${props.name}/_build` : null,
  );
  const history = useApi<Build[]>(`/api/v1/repositories/${props.name}/_builds?n=20`);
  const action = useAction();
  const [open, setOpen] = useState<number>();
  const [ref, setRef] = useState('main');
  const [secret, setSecret] = useState<string>();
  const linked = config.data !== undefined;
  const missing = config.error instanceof ApiError && config.error.status === 404;
  const reload = () => {
    config.reload();
    history.reload();
  };
  if (!props.canBuild && (history.data ?? []).length === 0) return null;
  return (
    <div className="builds">
      <h2>Builds</h2>
      {linked && (
        <p className="muted">
          From <code>{config.data!.source}</code> ·{' '}
          {config.data!.rules.map((r) => `${r.sourceType} ${r.source} → ${r.tag}`).join('; ')}
          {config.data!.pollSeconds > 0 && ` · polled every ${config.data!.pollSeconds} s`}
          {!config.data!.enabled && ` · triggers off: ${config.data!.disabledReason ?? ''}`}
        </p>
      )}
      {linked && (
        <details>
          <summary>Webhook URLs for git servers</summary>
          <ul>
            {Object.entries(config.data!.hooks).map(([p, url]) => (
              <li key={p}>
                {p}: <code>{`${window.location.origin}${url}`}</code>
              </li>
            ))}
          </ul>
        </details>
      )}
      {linked && (
        <form
          className="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            void action
              .run(() => api('POST', `/api/v1/repositories/${props.name}/_build/trigger`, { ref }))
              .then(reload);
          }}
        >
          <label>
            Branch or tag
            <input value={ref} onChange={(e) => setRef(e.target.value)} required />
          </label>
          <button type="submit" disabled={action.busy}>
            Build now
          </button>
        </form>
      )}
      <ErrorBox error={action.error} />
      {secret && (
        <div className="notice" role="status">
          Webhook secret (shown once): <code>{secret}</code>
        </div>
      )}
      {missing && props.admin && (
        <LinkForm
          name={props.name}
          onLinked={(made) => {
            setSecret(made);
            reload();
          }}
        />
      )}
      <Loading loaded={history}>
        {(builds) =>
          builds.length === 0 ? (
            <Empty>No builds yet.</Empty>
          ) : (
            <table aria-label="Build history">
              <thead>
                <tr>
                  <th>#</th>
                  <th>State</th>
                  <th>Ref</th>
                  <th>Commit</th>
                  <th>Tags</th>
                  <th>Queued</th>
                  <th>Took</th>
                  <th>Digest</th>
                  <th aria-label="Actions" />
                </tr>
              </thead>
              <tbody>
                {builds.map((b) => (
                  <tr key={b.id}>
                    <td>{b.id}</td>
                    <td>
                      <span className={`badge build-${b.state}`}>{b.state}</span>
                      {b.queuePosition && (
                        <span className="muted"> #{b.queuePosition} in queue</span>
                      )}
                      {b.error && <div className="muted">{b.error}</div>}
                    </td>
                    <td>{b.ref.replace(/^refs\/(heads|tags)\//, '')}</td>
                    <td>
                      <code title={b.commit}>{b.commit.slice(0, 10)}</code>
                    </td>
                    <td>{b.tags.join(', ')}</td>
                    <td>
                      <Ago at={b.queuedAt} />
                    </td>
                    <td>{b.durationSeconds === null ? '–' : `${b.durationSeconds} s`}</td>
                    <td>{b.digest ? <ShortDigest digest={b.digest} /> : '–'}</td>
                    <td>
                      <button
                        type="button"
                        className="small secondary"
                        onClick={() => setOpen(open === b.id ? undefined : b.id)}
                      >
                        {open === b.id ? 'Hide log' : 'Log'}
                      </button>{' '}
                      {props.canBuild && (b.state === 'queued' || b.state === 'running') && (
                        <button
                          type="button"
                          className="small danger"
                          onClick={() =>
                            void action
                              .run(() => api('POST', `/api/v1/builds/${b.id}/cancel`))
                              .then(reload)
                          }
                        >
                          Cancel
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Loading>
      {open !== undefined && <LiveLog key={open} id={open} />}
    </div>
  );
}
