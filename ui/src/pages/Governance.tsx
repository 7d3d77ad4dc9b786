// The governance page (administrators): quotas with usage bars, immutable-tag rules, retention.
import { useState, type ReactNode } from 'react';
import { api } from '../api';
import { Empty, ErrorBox, LoadedTable, Loading, useAction, useApi } from '../ui';
import { Retention } from './GovernanceRetention';
import { QuotaBars, type QuotaLimits, type QuotaUsage } from './quota-bars';

interface QuotaView extends QuotaLimits {
  usage: QuotaUsage;
}

interface ImmutableRule {
  id: number;
  scope: string;
  patterns: string[];
  exclusions: string[];
}

const scopeName = (q: { kind: string; scope: string }) =>
  q.kind === 'global' ? 'The whole registry' : `${q.kind} ${q.scope}`;

function QuotaForm(props: { saved: () => void }): ReactNode {
  const [kind, setKind] = useState('namespace');
  const [scope, setScope] = useState('');
  const [hard, setHard] = useState('');
  const [soft, setSoft] = useState('');
  const [repositories, setRepositories] = useState('');
  const [tags, setTags] = useState('');
  const action = useAction();
  const orNull = (v: string) => (v.trim() === '' ? null : v.trim());
  const countOrNull = (v: string) => (v.trim() === '' ? null : Number(v));
  return (
    <form
      className="panel narrow"
      aria-label="Set a quota"
      onSubmit={(e) => {
        e.preventDefault();
        void action
          .run(() =>
            api('PUT', '/api/v1/quotas', {
              kind,
              scope: kind === 'global' ? '' : scope,
              storageHard: orNull(hard),
              storageSoft: orNull(soft),
              repositoriesMax: countOrNull(repositories),
              tagsMax: countOrNull(tags),
            }),
          )
          .then((ok) => ok && props.saved());
      }}
    >
      <h2>Set a quota</h2>
      <label>
        On
        <select value={kind} onChange={(e) => setKind(e.target.value)}>
          <option value="namespace">a namespace</option>
          <option value="repository">a repository</option>
          <option value="global">the whole registry</option>
        </select>
      </label>
      {kind !== 'global' && (
        <label>
          Name
          <input value={scope} onChange={(e) => setScope(e.target.value)} required />
        </label>
      )}
      <label>
        Hard limit (refuses pushes), e.g. 2GiB
        <input value={hard} onChange={(e) => setHard(e.target.value)} />
      </label>
      <label>
        Soft limit (warns)
        <input value={soft} onChange={(e) => setSoft(e.target.value)} />
      </label>
      {kind !== 'repository' && (
        <label>
          Most repositories
          <input
            type="number"
            min={0}
            value={repositories}
            onChange={(e) => setRepositories(e.target.value)}
          />
        </label>
      )}
      <label>
        Most tags
        <input type="number" min={0} value={tags} onChange={(e) => setTags(e.target.value)} />
      </label>
      <ErrorBox error={action.error} />
      <button type="submit" disabled={action.busy}>
        Save quota
      </button>
    </form>
  );
}

function Quotas(): ReactNode {
  const loaded = useApi<{ quotas: QuotaView[]; total: QuotaUsage }>('/api/v1/quotas');
  const action = useAction();
  return (
    <section aria-label="Quotas">
      <h2>Quotas</h2>
      <Loading loaded={loaded}>
        {({ quotas, total }) => (
          <>
            {!quotas.some((q) => q.kind === 'global') && (
              <article className="panel">
                <h3>The whole registry (no quota)</h3>
                <QuotaBars quota={undefined} usage={total} />
              </article>
            )}
            {quotas.length === 0 && <Empty>No quotas yet.</Empty>}
            {quotas.map((q) => (
              <article className="panel" key={`${q.kind}:${q.scope}`}>
                <h3>{scopeName(q)}</h3>
                <QuotaBars quota={q} usage={q.usage} />
                <button
                  type="button"
                  className="small"
                  disabled={action.busy}
                  onClick={() =>
                    void action
                      .run(() =>
                        api(
                          'DELETE',
                          `/api/v1/quotas?kind=${q.kind}&scope=${encodeURIComponent(q.scope)}`,
                        ),
                      )
                      .then(() => loaded.reload())
                  }
                >
                  Remove quota
                </button>
              </article>
            ))}
          </>
        )}
      </Loading>
      <ErrorBox error={action.error} />
      <QuotaForm saved={() => loaded.reload()} />
    </section>
  );
}

function ImmutableRules(): ReactNode {
  const loaded = useApi<ImmutableRule[]>('/api/v1/immutable-tags');
  return (
    <section aria-label="Immutable tags">
      <h2>Immutable tags</h2>
      <LoadedTable
        loaded={loaded}
        label="Immutable-tag rules"
        empty="No immutable-tag rules."
        headings={['Rule', 'Scope', 'Tags', 'Except']}
        row={(r) => (
          <tr key={r.id}>
            <td>{r.id}</td>
            <td>{r.scope}</td>
            <td>{r.patterns.join(', ')}</td>
            <td>{r.exclusions.join(', ') || '–'}</td>
          </tr>
        )}
      />
    </section>
  );
}

/** Quotas, immutable tags (and what else governs the registry's content). */
export function GovernancePage(): ReactNode {
  return (
    <section>
      <h1>Governance</h1>
      <Quotas />
      <ImmutableRules />
      <Retention />
    </section>
  );
}
