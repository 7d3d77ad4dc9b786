// The signed-in user's profile, password and access tokens.
import { useState, type ReactNode } from 'react';
import { api } from '../api';
import { Ago, CopyButton, Empty, ErrorBox, Loading, useAction, useApi } from '../ui';

interface Me {
  name: string;
  email: string | null;
  fullName: string | null;
  admin: boolean;
  createdAt: string;
  orgs: { name: string }[];
}

interface Token {
  id: number;
  name: string;
  level: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  state: string;
}

export function ProfilePage(): ReactNode {
  const me = useApi<Me>('/api/v1/me');
  const tokens = useApi<Token[]>('/api/v1/tokens');
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [tokenName, setTokenName] = useState('');
  const [level, setLevel] = useState('read');
  const [days, setDays] = useState('90');
  const [secret, setSecret] = useState<string>();
  const [saved, setSaved] = useState(false);
  const action = useAction();
  return (
    <section>
      <h1>Profile</h1>
      <Loading loaded={me}>
        {(m) => (
          <>
            <dl className="facts">
              <dt>Name</dt>
              <dd>{m.name}</dd>
              <dt>Email</dt>
              <dd>{m.email ?? '–'}</dd>
              <dt>Role</dt>
              <dd>{m.admin ? 'administrator' : 'user'}</dd>
              <dt>Organisations</dt>
              <dd>{m.orgs.map((o) => o.name).join(', ') || '–'}</dd>
              <dt>Member since</dt>
              <dd>
                <Ago at={m.createdAt} />
              </dd>
            </dl>
            <h2>Password</h2>
            <form
              className="inline-form"
              onSubmit={(e) => {
                e.preventDefault();
                setSaved(false);
                void action
                  .run(() =>
                    api('PATCH', `/api/v1/users/${m.name}`, {
                      password: next,
                      currentPassword: current,
                    }),
                  )
                  .then((ok) => {
                    if (ok) {
                      setSaved(true);
                      setCurrent('');
                      setNext('');
                    }
                  });
              }}
            >
              <label>
                Current password
                <input
                  required
                  type="password"
                  autoComplete="current-password"
                  value={current}
                  onChange={(e) => setCurrent(e.target.value)}
                />
              </label>
              <label>
                New password
                <input
                  required
                  type="password"
                  autoComplete="new-password"
                  value={next}
                  onChange={(e) => setNext(e.target.value)}
                />
              </label>
              <button type="submit">Change password</button>
              {saved && <span role="status">Password changed.</span>}
            </form>
          </>
        )}
      </Loading>
      <h2>Access tokens</h2>
      <p className="muted">
        Use an access token as the password of <code>docker login</code>, or to sign in here.
      </p>
      <form
        className="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          void action
            .run(async () => {
              const made = await api<{ token: string }>('POST', '/api/v1/tokens', {
                name: tokenName,
                level,
                expiresInDays: days ? Number(days) : null,
              });
              setSecret(made.token);
              setTokenName('');
            })
            .then((ok) => ok && tokens.reload());
        }}
      >
        <label>
          Name
          <input
            required
            value={tokenName}
            onChange={(e) => setTokenName(e.target.value)}
            placeholder="ci-pipeline"
          />
        </label>
        <label>
          Level
          <select value={level} onChange={(e) => setLevel(e.target.value)}>
            <option value="read">read</option>
            <option value="write">write</option>
            <option value="admin">admin</option>
          </select>
        </label>
        <label>
          Expires in days
          <input type="number" min="1" value={days} onChange={(e) => setDays(e.target.value)} />
        </label>
        <button type="submit">Create token</button>
      </form>
      {secret && (
        <div className="notice" role="status">
          Copy the new token now; it is not shown again: <code>{secret}</code>{' '}
          <CopyButton text={secret} label="Copy the token" />
        </div>
      )}
      <ErrorBox error={action.error} />
      <Loading loaded={tokens}>
        {(list) =>
          list.length === 0 ? (
            <Empty>No access tokens.</Empty>
          ) : (
            <table>
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Level</th>
                  <th>State</th>
                  <th>Created</th>
                  <th>Expires</th>
                  <th>Last used</th>
                  <th aria-label="Actions" />
                </tr>
              </thead>
              <tbody>
                {list.map((t) => (
                  <tr key={t.id}>
                    <td>{t.name}</td>
                    <td>{t.level}</td>
                    <td>{t.state}</td>
                    <td>
                      <Ago at={t.createdAt} />
                    </td>
                    <td>{t.expiresAt ? new Date(t.expiresAt).toLocaleDateString() : 'never'}</td>
                    <td>
                      <Ago at={t.lastUsedAt} />
                    </td>
                    <td>
                      {t.state === 'active' && (
                        <button
                          type="button"
                          className="small danger"
                          onClick={() =>
                            void action
                              .run(() => api('DELETE', `/api/v1/tokens/${t.id}`))
                              .then((ok) => ok && tokens.reload())
                          }
                        >
                          Revoke
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
    </section>
  );
}
