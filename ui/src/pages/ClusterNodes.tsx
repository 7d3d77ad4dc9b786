// Nodes on the Cluster page: status, engine, Swarm role, labels; drain and the join token for
// administrators.
import { useState, type ReactNode } from 'react';
import { api } from '../api';
import { Ago, Empty, ErrorBox, Loading, useAction, useApi } from '../ui';
import { labelText, usePolling } from './cluster-bits';

interface NodeView {
  name: string;
  status: string;
  availability: string;
  labels: Record<string, string>;
  engine: { version?: string; os?: string; cpus?: number; swarm?: { role: string | null } };
  engineError: string | null;
  lastSeen: string;
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

/** The nodes section. */
export function Nodes(props: { admin: boolean }): ReactNode {
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
