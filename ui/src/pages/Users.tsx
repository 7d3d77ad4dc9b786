// Users (administrators): list, create, disable, delete.
import { useState, type ReactNode } from 'react';
import { api } from '../api';
import { Ago, ErrorBox, Loading, useAction, useApi } from '../ui';

interface User {
  name: string;
  email: string | null;
  admin: boolean;
  disabled: boolean;
  createdAt: string;
}

export function UsersPage(): ReactNode {
  const users = useApi<User[]>('/api/v1/users');
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [admin, setAdmin] = useState(false);
  const action = useAction();
  const change = (work: () => Promise<unknown>) =>
    void action.run(work).then((ok) => ok && users.reload());
  return (
    <section>
      <h1>Users</h1>
      <form
        className="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          change(async () => {
            await api('POST', '/api/v1/users', { name, password, admin });
            setName('');
            setPassword('');
          });
        }}
      >
        <label>
          Name
          <input required value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <label>
          Password
          <input
            required
            type="password"
            autoComplete="new-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
        <label className="inline">
          <input type="checkbox" checked={admin} onChange={(e) => setAdmin(e.target.checked)} />{' '}
          administrator
        </label>
        <button type="submit">Create user</button>
      </form>
      <ErrorBox error={action.error} />
      <Loading loaded={users}>
        {(list) => (
          <table>
            <thead>
              <tr>
                <th>Name</th>
                <th>Email</th>
                <th>Role</th>
                <th>State</th>
                <th>Created</th>
                <th aria-label="Actions" />
              </tr>
            </thead>
            <tbody>
              {list.map((u) => (
                <tr key={u.name}>
                  <td>{u.name}</td>
                  <td>{u.email ?? '–'}</td>
                  <td>{u.admin ? 'administrator' : 'user'}</td>
                  <td>{u.disabled ? 'disabled' : 'active'}</td>
                  <td>
                    <Ago at={u.createdAt} />
                  </td>
                  <td>
                    <button
                      type="button"
                      className="small secondary"
                      onClick={() =>
                        change(() =>
                          api('PATCH', `/api/v1/users/${u.name}`, { disabled: !u.disabled }),
                        )
                      }
                    >
                      {u.disabled ? 'Enable' : 'Disable'}
                    </button>{' '}
                    <button
                      type="button"
                      className="small danger"
                      onClick={() =>
                        window.confirm(`Delete user ${u.name}?`) &&
                        change(() => api('DELETE', `/api/v1/users/${u.name}`))
                      }
                    >
                      Delete
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Loading>
    </section>
  );
}
