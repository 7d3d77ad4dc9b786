// Create a repository: namespace, name, visibility, description.
import { useState, type ReactNode } from 'react';
import { useNavigate } from 'react-router';
import { api } from '../api';
import { useSession } from '../session';
import { ErrorBox, Loading, useAction, useApi } from '../ui';

interface Me {
  name: string;
  orgs: { name: string }[];
}

export function NewRepositoryPage(): ReactNode {
  const session = useSession();
  const me = useApi<Me>(session ? '/api/v1/me' : null);
  const [namespace, setNamespace] = useState('');
  const [name, setName] = useState('');
  const [visibility, setVisibility] = useState('private');
  const [description, setDescription] = useState('');
  const action = useAction();
  const navigate = useNavigate();
  if (!session) return <p>Sign in to create repositories.</p>;
  return (
    <section className="narrow">
      <h1>New repository</h1>
      <Loading loaded={me}>
        {(data) => {
          const ns = namespace || data.name;
          return (
            <form
              onSubmit={(e) => {
                e.preventDefault();
                const full = `${ns}/${name}`;
                void action
                  .run(() =>
                    api('POST', '/api/v1/repositories', {
                      name: full,
                      visibility,
                      description: description || null,
                    }),
                  )
                  .then((ok) => ok && navigate(`/r/${full}`));
              }}
            >
              <label>
                Namespace
                <select value={ns} onChange={(e) => setNamespace(e.target.value)}>
                  <option value={data.name}>{data.name}</option>
                  {data.orgs.map((o) => (
                    <option key={o.name} value={o.name}>
                      {o.name}
                    </option>
                  ))}
                </select>
              </label>
              <label>
                Name
                <input
                  required
                  pattern="[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*"
                  value={name}
                  onChange={(e) => setName(e.target.value)}
                />
              </label>
              <fieldset>
                <legend>Visibility</legend>
                <label className="inline">
                  <input
                    type="radio"
                    name="visibility"
                    checked={visibility === 'private'}
                    onChange={() => setVisibility('private')}
                  />{' '}
                  Private: only people granted access
                </label>
                <label className="inline">
                  <input
                    type="radio"
                    name="visibility"
                    checked={visibility === 'public'}
                    onChange={() => setVisibility('public')}
                  />{' '}
                  Public: anyone may pull
                </label>
              </fieldset>
              <label>
                Description (Markdown)
                <textarea
                  rows={5}
                  value={description}
                  onChange={(e) => setDescription(e.target.value)}
                />
              </label>
              <ErrorBox error={action.error} />
              <button type="submit" disabled={action.busy}>
                Create {ns}/{name || '…'}
              </button>
            </form>
          );
        }}
      </Loading>
    </section>
  );
}
