// Organisations: the list, and one organisation's members, teams, team members and the
// permissions each team holds on the organisation's repositories.
import { useState, type ReactNode } from 'react';
import { Link, useParams } from 'react-router';
import { api } from '../api';
import { Empty, ErrorBox, Loading, NameForm, useAction, useApi } from '../ui';
import { QuotaBars, type QuotaLimits, type QuotaUsage } from './quota-bars';
import { useSession } from '../session';
import { Webhooks } from './Webhooks';

interface Org {
  name: string;
  defaultLevel: string | null;
  createdAt: string;
  members?: { name: string; role: string }[];
  teams?: {
    name: string;
    description: string | null;
    level: string | null;
    memberCount?: number;
  }[];
}

interface Team {
  name: string;
  level: string | null;
  members?: string[];
}

export function OrgsPage(): ReactNode {
  const orgs = useApi<Org[]>('/api/v1/orgs');
  const action = useAction();
  return (
    <section>
      <h1>Organisations</h1>
      <NameForm
        label="New organisation"
        placeholder="name"
        button="Create organisation"
        onSubmit={(name) =>
          action
            .run(() => api('POST', '/api/v1/orgs', { name }))
            .then((ok) => {
              if (ok) orgs.reload();
              return ok;
            })
        }
      />
      <ErrorBox error={action.error} />
      <Loading loaded={orgs}>
        {(list) =>
          list.length === 0 ? (
            <Empty>You belong to no organisation yet.</Empty>
          ) : (
            <ul className="cards">
              {list.map((o) => (
                <li key={o.name}>
                  <Link to={`/orgs/${o.name}`}>{o.name}</Link>
                  <span className="muted">
                    {' '}
                    · members get {o.defaultLevel ?? 'no'} access by default
                  </span>
                </li>
              ))}
            </ul>
          )
        }
      </Loading>
    </section>
  );
}

function TeamPanel(props: {
  org: string;
  team: string;
  repositories: string[];
  onChange: () => void;
}): ReactNode {
  const team = useApi<Team>(`/api/v1/orgs/${props.org}/teams/${props.team}`);
  const [repo, setRepo] = useState('');
  const [repoLevel, setRepoLevel] = useState('read');
  const action = useAction();
  const done = (ok: boolean) => {
    if (ok) {
      team.reload();
      props.onChange();
    }
  };
  return (
    <Loading loaded={team}>
      {(t) => (
        <div className="panel">
          <h3>Team {t.name}</h3>
          <label className="inline">
            Level on every repository of {props.org}{' '}
            <select
              value={t.level ?? ''}
              onChange={(e) =>
                void action
                  .run(() =>
                    api('PUT', `/api/v1/orgs/${props.org}/teams/${t.name}/permission`, {
                      level: e.target.value || null,
                    }),
                  )
                  .then(done)
              }
            >
              <option value="">none</option>
              <option value="read">read</option>
              <option value="write">write</option>
              <option value="admin">admin</option>
            </select>
          </label>
          <h4>Members</h4>
          {(t.members ?? []).length === 0 ? (
            <Empty>No members.</Empty>
          ) : (
            <ul>
              {(t.members ?? []).map((m) => (
                <li key={m}>
                  {m}{' '}
                  <button
                    type="button"
                    className="small secondary"
                    onClick={() =>
                      void action
                        .run(() =>
                          api('DELETE', `/api/v1/orgs/${props.org}/teams/${t.name}/members/${m}`),
                        )
                        .then(done)
                    }
                  >
                    Remove
                  </button>
                </li>
              ))}
            </ul>
          )}
          <NameForm
            label="Add member"
            placeholder="user name"
            button={`Add to ${t.name}`}
            onSubmit={(member) =>
              action
                .run(() =>
                  api('PUT', `/api/v1/orgs/${props.org}/teams/${t.name}/members/${member}`),
                )
                .then((ok) => {
                  done(ok);
                  return ok;
                })
            }
          />
          <h4>Permission on one repository</h4>
          <form
            className="inline-form"
            onSubmit={(e) => {
              e.preventDefault();
              void action
                .run(() =>
                  api('PUT', `/api/v1/repositories/${repo}/_permissions`, {
                    team: `${props.org}/${t.name}`,
                    level: repoLevel === 'none' ? null : repoLevel,
                  }),
                )
                .then(done);
            }}
          >
            <label>
              Repository
              <select required value={repo} onChange={(e) => setRepo(e.target.value)}>
                <option value="">choose…</option>
                {props.repositories.map((r) => (
                  <option key={r} value={r}>
                    {r}
                  </option>
                ))}
              </select>
            </label>
            <label>
              Level
              <select value={repoLevel} onChange={(e) => setRepoLevel(e.target.value)}>
                <option value="read">read</option>
                <option value="write">write</option>
                <option value="admin">admin</option>
                <option value="none">none</option>
              </select>
            </label>
            <button type="submit">Set permission</button>
          </form>
          <ErrorBox error={action.error} />
        </div>
      )}
    </Loading>
  );
}

function Permissions(props: { repositories: string[]; version: number }): ReactNode {
  return (
    <table>
      <thead>
        <tr>
          <th>Repository</th>
          <th>Grants</th>
        </tr>
      </thead>
      <tbody>
        {props.repositories.map((r) => (
          <PermissionRow key={`${r}-${props.version}`} repository={r} />
        ))}
      </tbody>
    </table>
  );
}

function PermissionRow(props: { repository: string }): ReactNode {
  const grants = useApi<{ user?: string; team?: string; level: string }[]>(
    `/api/v1/repositories/${props.repository}/_permissions`,
  );
  return (
    <tr>
      <td>
        <Link to={`/r/${props.repository}`}>{props.repository}</Link>
      </td>
      <td>
        {grants.error ? (
          <span className="muted">{grants.error.message}</span>
        ) : (grants.data ?? []).length === 0 ? (
          <span className="muted">only the organisation-wide levels</span>
        ) : (
          (grants.data ?? []).map((g) => (
            <span key={`${g.user ?? g.team}`} className="badge">
              {g.team ? `team ${g.team}` : g.user}: {g.level}
            </span>
          ))
        )}
      </td>
    </tr>
  );
}

/** What namespace `namespace` uses against the quota on it (its owners and administrators see it). */
function NamespaceUsage(props: { namespace: string }): ReactNode {
  const loaded = useApi<{ usage: QuotaUsage; quotas: QuotaLimits[] }>(
    `/api/v1/quotas/usage?kind=namespace&scope=${encodeURIComponent(props.namespace)}`,
  );
  if (!loaded.data) return null;
  const quota = loaded.data.quotas.find((q) => q.kind === 'namespace');
  return (
    <details className="panel" open={quota !== undefined}>
      <summary>Usage{quota ? ' and quota' : ''}</summary>
      <QuotaBars quota={quota} usage={loaded.data.usage} />
    </details>
  );
}

export function OrgPage(): ReactNode {
  const { org = '' } = useParams();
  const loaded = useApi<Org>(`/api/v1/orgs/${org}`);
  const repos = useApi<{ repositories: { name: string }[] }>(
    `/api/v1/catalog?namespace=${encodeURIComponent(org)}&n=500`,
  );
  const [role, setRole] = useState('member');
  const [version, setVersion] = useState(0);
  const action = useAction();
  const names = (repos.data?.repositories ?? []).map((r) => r.name);
  const session = useSession();
  const owner =
    session !== undefined &&
    (session.user.admin ||
      (loaded.data?.members ?? []).some((m) => m.name === session.user.name && m.role === 'owner'));
  const refresh = () => {
    loaded.reload();
    setVersion((v) => v + 1);
  };
  return (
    <section>
      <p>
        <Link to="/orgs">← Organisations</Link>
      </p>
      <h1>{org}</h1>
      {owner && <NamespaceUsage namespace={org} />}
      <ErrorBox error={action.error} />
      <Loading loaded={loaded}>
        {(o) => (
          <div className="columns">
            <div>
              <h2>Members</h2>
              <table>
                <thead>
                  <tr>
                    <th>User</th>
                    <th>Role</th>
                    <th aria-label="Actions" />
                  </tr>
                </thead>
                <tbody>
                  {(o.members ?? []).map((m) => (
                    <tr key={m.name}>
                      <td>{m.name}</td>
                      <td>{m.role}</td>
                      <td>
                        <button
                          type="button"
                          className="small secondary"
                          onClick={() =>
                            void action
                              .run(() => api('DELETE', `/api/v1/orgs/${org}/members/${m.name}`))
                              .then((ok) => ok && refresh())
                          }
                        >
                          Remove
                        </button>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <NameForm
                label="Add member"
                placeholder="user name"
                button="Add member"
                onSubmit={(member) =>
                  action
                    .run(() => api('PUT', `/api/v1/orgs/${org}/members/${member}`, { role }))
                    .then((ok) => {
                      if (ok) refresh();
                      return ok;
                    })
                }
              >
                <select aria-label="Role" value={role} onChange={(e) => setRole(e.target.value)}>
                  <option value="member">member</option>
                  <option value="owner">owner</option>
                </select>
              </NameForm>
              <h2>Repositories and their grants</h2>
              {names.length === 0 ? (
                <Empty>No repositories in {org} yet.</Empty>
              ) : (
                <Permissions repositories={names} version={version} />
              )}
            </div>
            <div>
              <h2>Teams</h2>
              <NameForm
                label="New team"
                placeholder="team name"
                button="Create team"
                onSubmit={(name) =>
                  action
                    .run(() => api('POST', `/api/v1/orgs/${org}/teams`, { name }))
                    .then((ok) => {
                      if (ok) refresh();
                      return ok;
                    })
                }
              />
              {(o.teams ?? []).length === 0 ? (
                <Empty>No teams yet.</Empty>
              ) : (
                (o.teams ?? []).map((t) => (
                  <TeamPanel
                    key={`${t.name}-${version}`}
                    org={org}
                    team={t.name}
                    repositories={names}
                    onChange={refresh}
                  />
                ))
              )}
            </div>
          </div>
        )}
      </Loading>
      {owner && <Webhooks path={`/api/v1/namespaces/${org}/webhooks`} />}
    </section>
  );
}
