// Containers across every node on the Cluster page: filter, logs, start/stop, remove, the Berth
// image and whether its tag is signed; and the form to run one.
import { useState, type ReactNode } from 'react';
import { api } from '../api';
import { Empty, ErrorBox, Loading, useAction, useApi } from '../ui';
import { usePolling, words } from './cluster-bits';

interface ContainerView {
  id: string;
  node: string;
  names: string[];
  image: string;
  state: string;
  status: string;
  berth: { repository: string; tag: string | null; digest: string; signed: boolean } | null;
}

function RunForm(props: { onRan: () => void }): ReactNode {
  const action = useAction();
  const [result, setResult] = useState<string>();
  return (
    <form
      className="panel"
      aria-label="Run a container"
      onSubmit={(e) => {
        e.preventDefault();
        const form = new FormData(e.currentTarget);
        const text = (k: string) => String(form.get(k) ?? '').trim();
        void action
          .run(async () => {
            const r = await api<{ node: string; id: string; image: string }>(
              'POST',
              '/api/v1/cluster/containers',
              {
                image: text('image'),
                ...(text('node') ? { node: text('node') } : {}),
                ...(text('name') ? { name: text('name') } : {}),
                ...(text('command') ? { command: words(text('command')) } : {}),
                ...(text('network') ? { network: text('network') } : {}),
              },
            );
            setResult(`Running on ${r.node}: ${r.id.slice(0, 12)} (${r.image})`);
          })
          .then((ok) => ok && props.onRan());
      }}
    >
      <h3>Run a container</h3>
      <label>
        Image
        <input name="image" required placeholder="acme/app:1" />
      </label>
      <label>
        Node (empty: the controller picks)
        <input name="node" placeholder="node-1" />
      </label>
      <label>
        Name
        <input name="name" />
      </label>
      <label>
        Command
        <input name="command" placeholder="sh -c 'echo hi'" />
      </label>
      <label>
        Network
        <input name="network" placeholder="bridge, host, none" />
      </label>
      <button type="submit" disabled={action.busy}>
        Run
      </button>
      <ErrorBox error={action.error} />
      {result && (
        <div className="notice" role="status">
          {result}
        </div>
      )}
    </form>
  );
}

/** The containers section. */
export function Containers(): ReactNode {
  const [q, setQ] = useState('');
  const loaded = useApi<ContainerView[]>(
    `/api/v1/cluster/containers${q ? `?q=${encodeURIComponent(q)}` : ''}`,
  );
  const action = useAction();
  const [logs, setLogs] = useState<{ name: string; text: string }>();
  usePolling(loaded.reload);
  const act = (c: ContainerView, what: 'start' | 'stop' | 'remove') =>
    void action
      .run(() =>
        what === 'remove'
          ? api('DELETE', `/api/v1/cluster/containers/${c.node}/${c.id}`)
          : api('POST', `/api/v1/cluster/containers/${c.node}/${c.id}/${what}`),
      )
      .then(loaded.reload);
  return (
    <section>
      <h2>Containers</h2>
      <div className="inline-form">
        <label>
          Filter
          <input
            type="search"
            aria-label="Filter containers"
            value={q}
            onChange={(e) => setQ(e.target.value)}
            placeholder="name, image or id"
          />
        </label>
      </div>
      <ErrorBox error={action.error} />
      <Loading loaded={loaded}>
        {(containers) =>
          containers.length === 0 ? (
            <Empty>No containers.</Empty>
          ) : (
            <table aria-label="Containers">
              <thead>
                <tr>
                  <th>Node</th>
                  <th>Name</th>
                  <th>Image</th>
                  <th>State</th>
                  <th>Berth image</th>
                  <th aria-label="Actions" />
                </tr>
              </thead>
              <tbody>
                {containers.map((c) => (
                  <tr key={`${c.node}/${c.id}`}>
                    <td>{c.node}</td>
                    <td>{c.names[0]}</td>
                    <td>
                      <code>{c.image.length > 60 ? `${c.image.slice(0, 60)}…` : c.image}</code>
                    </td>
                    <td>{c.status}</td>
                    <td>
                      {c.berth ? (
                        <>
                          {c.berth.repository}
                          {c.berth.tag ? `:${c.berth.tag}` : ''}{' '}
                          <span className={`badge ${c.berth.signed ? 'signed' : 'unsigned'}`}>
                            {c.berth.signed ? 'signed' : 'unsigned'}
                          </span>
                        </>
                      ) : (
                        '-'
                      )}
                    </td>
                    <td>
                      <button
                        type="button"
                        className="small"
                        onClick={() =>
                          void action.run(async () =>
                            setLogs({
                              name: c.names[0] ?? c.id,
                              text: await api<string>(
                                'GET',
                                `/api/v1/cluster/containers/${c.node}/${c.id}/logs?tail=200`,
                              ),
                            }),
                          )
                        }
                      >
                        Logs
                      </button>{' '}
                      <button
                        type="button"
                        className="small secondary"
                        onClick={() => act(c, c.state === 'running' ? 'stop' : 'start')}
                      >
                        {c.state === 'running' ? 'Stop' : 'Start'}
                      </button>{' '}
                      <button
                        type="button"
                        className="small danger"
                        onClick={() => act(c, 'remove')}
                      >
                        Remove
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Loading>
      {logs && (
        <pre className="payload" aria-label="Container logs">
          {`${logs.name}\n${logs.text}`}
        </pre>
      )}
      <RunForm onRan={loaded.reload} />
    </section>
  );
}
