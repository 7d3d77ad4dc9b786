// Identity providers on the settings page: their order, a connection test, a dry run for one
// user, and a sync now (administrators). Providers are configured in the configuration file.
import { useState, type ReactNode } from 'react';
import { api } from '../api';
import { Empty, ErrorBox, Loading, useAction, useApi } from '../ui';

interface Provider {
  name: string;
  urls: string[];
  userBase: string;
  groups: string;
  mappings: { group: string; org?: string; team?: string; admin?: boolean }[];
}

/** The identity providers section. */
export function IdentityProviders(): ReactNode {
  const loaded = useApi<Provider[]>('/api/v1/identity/providers');
  const action = useAction();
  const [result, setResult] = useState<string>();
  const [login, setLogin] = useState('');
  const run = (work: () => Promise<unknown>) =>
    void action.run(async () => setResult(JSON.stringify(await work(), null, 2)));
  return (
    <div className="identity">
      <h2>Identity providers</h2>
      <p className="muted">
        Directories users may log in through, in this order (set in the configuration file under{' '}
        <code>identity.providers</code>). Local accounts always work beside them.
      </p>
      <Loading loaded={loaded}>
        {(providers) =>
          providers.length === 0 ? (
            <Empty>No directories: local accounts only.</Empty>
          ) : (
            <table aria-label="Identity providers">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Servers</th>
                  <th>Users under</th>
                  <th>Groups</th>
                  <th>Mappings</th>
                  <th aria-label="Actions" />
                </tr>
              </thead>
              <tbody>
                {providers.map((p) => (
                  <tr key={p.name}>
                    <td>{p.name}</td>
                    <td>{p.urls.join(', ')}</td>
                    <td>
                      <code>{p.userBase}</code>
                    </td>
                    <td>{p.groups}</td>
                    <td>
                      {p.mappings
                        .map((m) => `${m.group} → ${m.admin ? 'admin' : `${m.org}/${m.team}`}`)
                        .join('; ')}
                    </td>
                    <td>
                      <button
                        type="button"
                        className="small"
                        onClick={() =>
                          run(() => api('POST', `/api/v1/identity/providers/${p.name}/test`, {}))
                        }
                      >
                        Test connection
                      </button>{' '}
                      <button
                        type="button"
                        className="small secondary"
                        disabled={!login}
                        onClick={() =>
                          run(() =>
                            api('POST', `/api/v1/identity/providers/${p.name}/test`, { login }),
                          )
                        }
                      >
                        Test user
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Loading>
      <div className="inline-form">
        <label>
          User to test
          <input value={login} onChange={(e) => setLogin(e.target.value)} placeholder="login" />
        </label>
        <button
          type="button"
          className="secondary"
          onClick={() => run(() => api('POST', '/api/v1/identity/sync'))}
        >
          Sync now
        </button>
      </div>
      <ErrorBox error={action.error} />
      {result && (
        <pre className="payload" aria-label="Identity result">
          {result}
        </pre>
      )}
    </div>
  );
}
