// Identity providers on the settings page (administrators): local accounts and the directories
// in login order; directories added, edited and removed here (their bind passwords sealed by the
// server and never shown again), those of the configuration file shown read-only; a connection
// test, a dry run for one user, and a sync now.
import { useState, type ReactNode } from 'react';
import { api } from '../api';
import { ErrorBox, Loading, useAction, useApi } from '../ui';

interface Mapping {
  group: string;
  org?: string;
  team?: string;
  admin?: boolean;
}

interface ProviderSettings {
  preset?: string;
  urls: string[];
  startTls: boolean;
  ca?: string;
  bindDn: string;
  userBase: string;
  userFilter: string;
  loginAttribute: string;
  groups: { strategy: string; base?: string };
  mappings: Mapping[];
}

interface Provider {
  name: string;
  kind: 'local' | 'ldap';
  source: 'built-in' | 'file' | 'saved';
  order: number;
  urls: string[];
  userBase: string | null;
  groups: string | null;
  mappings: Mapping[];
  settings?: ProviderSettings;
}

interface Listing {
  providers: Provider[];
  unusable: { name: string; problem: string }[];
}

const PRESETS = [
  ['openldap', 'OpenLDAP'],
  ['active-directory', 'Active Directory'],
  ['freeipa', 'FreeIPA'],
] as const;
const STRATEGIES = ['', 'auto', 'memberOf', 'member-search', 'ad-nested', 'recursive'];

/** `group -> org/team` or `group -> admin`, one per line. */
function mappingsText(mappings: Mapping[]): string {
  return mappings
    .map((m) => `${m.group} -> ${m.admin ? 'admin' : `${m.org}/${m.team}`}`)
    .join('\n');
}

function parseMappings(text: string): Mapping[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const [group, target] = line.split(/\s*->\s*/);
      if (!group || !target)
        throw new Error(`a mapping is "group -> org/team" or "group -> admin"`);
      if (target === 'admin') return { group, admin: true };
      const [org, team] = target.split('/');
      if (!org || !team) throw new Error(`${line}: the target is org/team or admin`);
      return { group, org, team };
    });
}

/** The add / edit form; `editing` is the saved provider being changed. */
function ProviderForm(props: { editing?: Provider; onSaved: () => void }): ReactNode {
  const action = useAction();
  const s = props.editing?.settings;
  const title = props.editing ? `Edit ${props.editing.name}` : 'Add a directory';
  return (
    <form
      className="panel"
      aria-label={title}
      onSubmit={(e) => {
        e.preventDefault();
        const form = new FormData(e.currentTarget);
        const text = (key: string) => String(form.get(key) ?? '').trim();
        void action
          .run(async () => {
            const body: Record<string, unknown> = {
              name: props.editing?.name ?? text('name'),
              preset: text('preset'),
              order: Number(text('order') || '100'),
              urls: text('urls')
                .split(/[\s,]+/)
                .filter(Boolean),
              startTls: form.get('startTls') === 'on',
              bindDn: text('bindDn'),
              userBase: text('userBase'),
              mappings: parseMappings(text('mappings')),
            };
            if (text('bindPassword')) body.bindPassword = text('bindPassword');
            if (text('ca')) body.ca = text('ca');
            if (text('loginAttribute')) body.loginAttribute = text('loginAttribute');
            if (text('userFilter')) body.userFilter = text('userFilter');
            const groups: Record<string, string> = {};
            if (text('strategy')) groups.strategy = text('strategy');
            if (text('groupBase')) groups.base = text('groupBase');
            if (Object.keys(groups).length > 0) body.groups = groups;
            if (props.editing)
              await api('PUT', `/api/v1/identity/providers/${props.editing.name}`, body);
            else await api('POST', '/api/v1/identity/providers', body);
          })
          .then((ok) => ok && props.onSaved());
      }}
    >
      <h3>{title}</h3>
      {!props.editing && (
        <label>
          Name
          <input name="name" required pattern="[a-z0-9-]{1,32}" placeholder="corp" />
        </label>
      )}
      <label>
        Kind of directory
        <select name="preset" defaultValue={s?.preset ?? 'openldap'}>
          {PRESETS.map(([value, label]) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </select>
      </label>
      <label>
        Server URLs (tried in order)
        <input
          name="urls"
          required
          defaultValue={s?.urls.join(' ')}
          placeholder="ldaps://dc1.example.com ldaps://dc2.example.com"
        />
      </label>
      <label className="check">
        <input type="checkbox" name="startTls" defaultChecked={s?.startTls} /> StartTLS (for ldap://
        URLs; never falls back to plain)
      </label>
      <label>
        CA certificate (PEM, optional)
        <textarea name="ca" rows={3} defaultValue={s?.ca} />
      </label>
      <label>
        Bind DN
        <input name="bindDn" required defaultValue={s?.bindDn} />
      </label>
      <label>
        Bind password
        <input
          name="bindPassword"
          type="password"
          autoComplete="new-password"
          required={!props.editing}
          placeholder={props.editing ? 'unchanged' : ''}
        />
      </label>
      <label>
        Users under (base DN)
        <input name="userBase" required defaultValue={s?.userBase} />
      </label>
      <label>
        Login attribute (the preset&apos;s when empty)
        <input name="loginAttribute" placeholder="uid, sAMAccountName, userPrincipalName, mail" />
      </label>
      <label>
        User filter (the preset&apos;s when empty)
        <input name="userFilter" placeholder={s?.userFilter ?? '(objectClass=inetOrgPerson)'} />
      </label>
      <label>
        Groups
        <select name="strategy" defaultValue="">
          {STRATEGIES.map((x) => (
            <option key={x} value={x}>
              {x || "the preset's"}
            </option>
          ))}
        </select>
      </label>
      <label>
        Groups under (base DN, optional)
        <input name="groupBase" defaultValue={s?.groups.base} />
      </label>
      <label>
        Group mappings (one per line: group -&gt; org/team, or group -&gt; admin)
        <textarea name="mappings" rows={3} defaultValue={s ? mappingsText(s.mappings) : ''} />
      </label>
      <label>
        Order (lower is tried first)
        <input name="order" type="number" min={0} defaultValue={props.editing?.order ?? 100} />
      </label>
      <button type="submit" disabled={action.busy}>
        Save directory
      </button>
      <ErrorBox error={action.error} />
    </form>
  );
}

/** The identity providers section. */
export function IdentityProviders(): ReactNode {
  const loaded = useApi<Listing>('/api/v1/identity/providers');
  const action = useAction();
  const [result, setResult] = useState<string>();
  const [login, setLogin] = useState('');
  const [editing, setEditing] = useState<Provider | 'new'>();
  const run = (work: () => Promise<unknown>) =>
    void action.run(async () => setResult(JSON.stringify(await work(), null, 2)));
  return (
    <div className="identity">
      <h2>Identity providers</h2>
      <p className="muted">
        Where users log in, in this order: local accounts, then each directory. A directory decides
        for its own accounts and for names no account holds yet (the account is made at the first
        login). Directories in the configuration file are shown here but changed there.
      </p>
      <Loading loaded={loaded}>
        {({ providers, unusable }) => (
          <>
            <table aria-label="Identity providers">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Source</th>
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
                    <td>{p.source === 'built-in' ? 'local accounts' : p.source}</td>
                    <td>{p.urls.join(', ')}</td>
                    <td>{p.userBase && <code>{p.userBase}</code>}</td>
                    <td>{p.groups}</td>
                    <td>{mappingsText(p.mappings).replaceAll('\n', '; ')}</td>
                    <td>
                      {p.kind === 'ldap' && (
                        <>
                          <button
                            type="button"
                            className="small"
                            onClick={() =>
                              run(() =>
                                api('POST', `/api/v1/identity/providers/${p.name}/test`, {}),
                              )
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
                                api('POST', `/api/v1/identity/providers/${p.name}/test`, {
                                  login,
                                }),
                              )
                            }
                          >
                            Test user
                          </button>
                        </>
                      )}
                      {p.source === 'saved' && (
                        <>
                          {' '}
                          <button
                            type="button"
                            className="small secondary"
                            onClick={() => setEditing(p)}
                          >
                            Edit
                          </button>{' '}
                          <button
                            type="button"
                            className="small danger"
                            onClick={() =>
                              void action
                                .run(() => api('DELETE', `/api/v1/identity/providers/${p.name}`))
                                .then((ok) => ok && loaded.reload())
                            }
                          >
                            Remove
                          </button>
                        </>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            {unusable.map((u) => (
              <p key={u.name} className="error" role="alert">
                {u.name} cannot be used: {u.problem}
              </p>
            ))}
          </>
        )}
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
        <button type="button" className="secondary" onClick={() => setEditing('new')}>
          Add a directory
        </button>
      </div>
      <ErrorBox error={action.error} />
      {result && (
        <pre className="payload" aria-label="Identity result">
          {result}
        </pre>
      )}
      {editing && (
        <ProviderForm
          key={editing === 'new' ? 'new' : editing.name}
          editing={editing === 'new' ? undefined : editing}
          onSaved={() => {
            setEditing(undefined);
            loaded.reload();
          }}
        />
      )}
    </div>
  );
}
