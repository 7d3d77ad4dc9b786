// The control plane: nodes (status, engine, labels; drain and the join token for administrators),
// containers across every node (filter, logs, start/stop, remove, the Berth image and whether its
// tag is signed), Swarm services (scale), and forms to run a container and deploy a service.
import { useEffect, useState, type ReactNode } from 'react';
import { api } from '../api';
import { useSession } from '../session';
import { Ago, Empty, ErrorBox, Loading, useAction, useApi } from '../ui';

interface NodeView {
  name: string;
  status: string;
  availability: string;
  labels: Record<string, string>;
  engine: { version?: string; os?: string; cpus?: number; swarm?: { role: string | null } };
  engineError: string | null;
  lastSeen: string;
}

interface ContainerView {
  id: string;
  node: string;
  names: string[];
  image: string;
  state: string;
  status: string;
  berth: { repository: string; tag: string | null; digest: string; signed: boolean } | null;
}

interface ServiceView {
  id: string;
  name: string;
  image: string;
  replicas: number | null;
  running: number;
  manager: string;
}

const words = (text: string) => text.split(/\s+/).filter(Boolean);
const labelText = (labels: Record<string, string>) =>
  Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');

/** Reloads `reload` every few seconds while the page is open. */
function usePolling(reload: () => void, ms = 3000): void {
  useEffect(() => {
    const timer = setInterval(reload, ms);
    return () => clearInterval(timer);
  }, [reload, ms]);
}

function JoinToken(): ReactNode {
  const action = useAction();
  const [token, setToken] = useState<string>();
  const show = (rotate: boolean) =>
    void action.run(async () => {
      const t = await api<{ token: string }>(
        rotate ? 'POST' : 'GET',
        rotate ? '/api/v1/cluster/join-token/rotate' : '/api/v1/cluster/join-token',
      );
      setToken(t.token);
    });
  return (
    <div className="inline-form">
      <button type="button" className="secondary" onClick={() => show(false)}>
        Show join token
      </button>
      <button type="button" className="secondary" onClick={() => show(true)}>
        Rotate join token
      </button>
      <ErrorBox error={action.error} />
      {token && (
        <pre className="payload" aria-label="Join command">
          berth agent --controller {window.location.origin} --join-token {token} --name NODE
        </pre>
      )}
    </div>
  );
}

function Nodes(props: { admin: boolean }): ReactNode {
  const loaded = useApi<NodeView[]>('/api/v1/cluster/nodes');
  const action = useAction();
  usePolling(loaded.reload);
  return (
    <section>
      <h2>Nodes</h2>
      {props.admin && <JoinToken />}
      <ErrorBox error={action.error} />
      <Loading loaded={loaded}>
        {(nodes) =>
          nodes.length === 0 ? (
            <Empty>
              No nodes yet: start `berth agent` beside a Docker engine with the join token.
            </Empty>
          ) : (
            <table aria-label="Nodes">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Status</th>
                  <th>Engine</th>
                  <th>Swarm</th>
                  <th>Labels</th>
                  <th>Last seen</th>
                  {props.admin && <th aria-label="Actions" />}
                </tr>
              </thead>
              <tbody>
                {nodes.map((n) => (
                  <tr key={n.name}>
                    <td>{n.name}</td>
                    <td>
                      <span className={`badge ${n.status}`}>{n.status}</span>
                      {n.availability === 'drain' && <span className="badge"> drained</span>}
                    </td>
                    <td title={n.engineError ?? ''}>
                      {n.engine.version ?? '-'} {n.engine.os ? `· ${n.engine.os}` : ''}
                    </td>
                    <td>{n.engine.swarm?.role ?? '-'}</td>
                    <td>{labelText(n.labels)}</td>
                    <td>
                      <Ago at={n.lastSeen} />
                    </td>
                    {props.admin && (
                      <td>
                        <button
                          type="button"
                          className="small secondary"
                          onClick={() =>
                            void action
                              .run(() =>
                                api('PATCH', `/api/v1/cluster/nodes/${n.name}`, {
                                  availability: n.availability === 'drain' ? 'active' : 'drain',
                                }),
                              )
                              .then(loaded.reload)
                          }
                        >
                          {n.availability === 'drain' ? 'Activate' : 'Drain'}
                        </button>
                      </td>
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Loading>
    </section>
  );
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

function Containers(): ReactNode {
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

function Services(): ReactNode {
  const loaded = useApi<ServiceView[]>('/api/v1/cluster/services');
  const action = useAction();
  usePolling(loaded.reload);
  return (
    <section>
      <h2>Swarm services</h2>
      <ErrorBox error={action.error} />
      <Loading loaded={loaded}>
        {(services) =>
          services.length === 0 ? (
            <Empty>No Swarm services.</Empty>
          ) : (
            <table aria-label="Services">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Image</th>
                  <th>Running</th>
                  <th>Manager</th>
                  <th aria-label="Scale" />
                </tr>
              </thead>
              <tbody>
                {services.map((s) => (
                  <tr key={s.id}>
                    <td>{s.name}</td>
                    <td>
                      <code>{s.image.length > 60 ? `${s.image.slice(0, 60)}…` : s.image}</code>
                    </td>
                    <td>
                      {s.running} / {s.replicas ?? '-'}
                    </td>
                    <td>{s.manager}</td>
                    <td>
                      <form
                        className="inline-form"
                        aria-label={`Scale ${s.name}`}
                        onSubmit={(e) => {
                          e.preventDefault();
                          const replicas = Number(new FormData(e.currentTarget).get('replicas'));
                          void action
                            .run(() =>
                              api('POST', `/api/v1/cluster/services/${s.name}/scale`, { replicas }),
                            )
                            .then(loaded.reload);
                        }}
                      >
                        <input
                          name="replicas"
                          type="number"
                          min={0}
                          defaultValue={s.replicas ?? 1}
                          aria-label="Replicas"
                        />
                        <button type="submit" className="small">
                          Scale
                        </button>
                      </form>
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
        aria-label="Deploy a service"
        onSubmit={(e) => {
          e.preventDefault();
          const form = new FormData(e.currentTarget);
          const text = (k: string) => String(form.get(k) ?? '').trim();
          void action
            .run(() =>
              api('POST', '/api/v1/cluster/services', {
                image: text('image'),
                name: text('name'),
                replicas: Number(text('replicas') || '1'),
                ...(text('command') ? { command: words(text('command')) } : {}),
              }),
            )
            .then(loaded.reload);
        }}
      >
        <h3>Deploy a service</h3>
        <label>
          Image
          <input name="image" required placeholder="acme/app:1" />
        </label>
        <label>
          Service name
          <input name="name" required />
        </label>
        <label>
          Replicas
          <input name="replicas" type="number" min={0} defaultValue={1} />
        </label>
        <label>
          Command
          <input name="command" />
        </label>
        <button type="submit" disabled={action.busy}>
          Deploy
        </button>
      </form>
    </section>
  );
}

/** The control plane page. */
export function ClusterPage(): ReactNode {
  const session = useSession();
  if (!session)
    return (
      <section>
        <h1>Cluster</h1>
        <p>Sign in to see the nodes.</p>
      </section>
    );
  return (
    <section className="cluster">
      <h1>Cluster</h1>
      <Nodes admin={session.user.admin} />
      <Containers />
      <Services />
    </section>
  );
}
