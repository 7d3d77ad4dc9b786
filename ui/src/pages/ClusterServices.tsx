// Swarm services on the Cluster page: replicas running, scaling, and the form to deploy one.
import { type ReactNode } from 'react';
import { api } from '../api';
import { Empty, ErrorBox, Loading, useAction, useApi } from '../ui';
import { usePolling, words } from './cluster-bits';

interface ServiceView {
  id: string;
  name: string;
  image: string;
  replicas: number | null;
  running: number;
  manager: string;
}

/** The services section. */
export function Services(): ReactNode {
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
