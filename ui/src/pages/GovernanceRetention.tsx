// Retention on the governance page: policies with dry runs and runs, their reports, and the trash.
import { useState, type ReactNode } from 'react';
import { api } from '../api';
import { Ago, ErrorBox, LoadedTable, ShortDigest, useAction, useApi } from '../ui';

type Rule =
  | { keep: 'newest' | 'newestPerMinor'; count: number; tags?: string }
  | { keep: 'pushedWithin' | 'pulledWithin'; days: number; tags?: string }
  | { keep: 'matching'; tags: string };

interface Policy {
  id: number;
  scope: string;
  rules: Rule[];
  everyHours: number | null;
  restoreDays: number;
}

interface Report {
  dryRun: boolean;
  removed: number;
  kept: number;
  repositories: {
    repository: string;
    removed: { tag: string }[];
    protected: { tag: string; reason: string }[];
  }[];
}

interface TrashItem {
  id: number;
  repository: string;
  tag: string;
  digest: string;
  removedAt: number;
  restoreUntil: number;
}

function describe(rule: Rule): string {
  const of = rule.keep !== 'matching' && rule.tags ? ` of ${rule.tags}` : '';
  switch (rule.keep) {
    case 'newest':
      return `newest ${rule.count}${of}`;
    case 'newestPerMinor':
      return `newest ${rule.count} per minor${of}`;
    case 'pushedWithin':
      return `pushed within ${rule.days} d${of}`;
    case 'pulledWithin':
      return `pulled within ${rule.days} d${of}`;
    case 'matching':
      return `matching ${rule.tags}`;
  }
}

/** `newest:5@v.*` → a rule; one per line in the form. */
function parseRule(line: string): Rule {
  const m = /^(\w+):([^@]+)(?:@(.+))?$/.exec(line.trim());
  if (!m) throw new Error(`${line}: write KIND:VALUE[@TAGS], e.g. newest:5`);
  const [, keep, value, tags] = m as unknown as [string, string, string, string | undefined];
  const only = tags ? { tags } : {};
  if (keep === 'matching') return { keep, tags: value };
  if (keep === 'newest' || keep === 'newestPerMinor')
    return { keep, count: Number(value), ...only };
  if (keep === 'pushedWithin' || keep === 'pulledWithin')
    return { keep, days: Number(value), ...only };
  throw new Error(`${keep}: not a kind of rule`);
}

function PolicyForm(props: { saved: () => void }): ReactNode {
  const [scope, setScope] = useState('');
  const [rules, setRules] = useState('newest:10\npulledWithin:30');
  const [every, setEvery] = useState('');
  const [restoreDays, setRestoreDays] = useState('7');
  const action = useAction();
  return (
    <form
      className="panel narrow"
      aria-label="Add a retention policy"
      onSubmit={(e) => {
        e.preventDefault();
        void action
          .run(async () => {
            const parsed = rules
              .split('\n')
              .filter((l) => l.trim() !== '')
              .map(parseRule);
            await api('POST', '/api/v1/retention/policies', {
              scope,
              rules: parsed,
              everyHours: every.trim() === '' ? null : Number(every),
              restoreDays: Number(restoreDays),
            });
          })
          .then((ok) => ok && props.saved());
      }}
    >
      <h3>Add a retention policy</h3>
      <label>
        Scope (acme/app, or acme/ for a namespace)
        <input value={scope} onChange={(e) => setScope(e.target.value)} required />
      </label>
      <label>
        Keep rules, one per line (newest:5, pushedWithin:30, pulledWithin:30, matching:release-.*,
        newestPerMinor:2; @PATTERN narrows a rule)
        <textarea rows={4} value={rules} onChange={(e) => setRules(e.target.value)} />
      </label>
      <label>
        Run every (hours; empty: by hand)
        <input type="number" min={1} value={every} onChange={(e) => setEvery(e.target.value)} />
      </label>
      <label>
        Restorable for (days)
        <input
          type="number"
          min={0}
          value={restoreDays}
          onChange={(e) => setRestoreDays(e.target.value)}
        />
      </label>
      <ErrorBox error={action.error} />
      <button type="submit" disabled={action.busy}>
        Save policy
      </button>
    </form>
  );
}

function ReportView(props: { report: Report }): ReactNode {
  const { report } = props;
  const verb = report.dryRun ? 'Would remove' : 'Removed';
  return (
    <div className="panel" role="status" aria-label="Retention report">
      <p>
        {verb} {report.removed} tags, keeping {report.kept}.
      </p>
      <ul>
        {report.repositories.flatMap((r) => [
          ...r.removed.map((x) => (
            <li key={`${r.repository}:${x.tag}`}>
              {verb.toLowerCase()} {r.repository}:{x.tag}
            </li>
          )),
          ...r.protected.map((x) => (
            <li key={`${r.repository}:${x.tag}:p`} className="muted">
              kept {r.repository}:{x.tag} ({x.reason})
            </li>
          )),
        ])}
      </ul>
    </div>
  );
}

function Trash(props: { version: number; restored: () => void }): ReactNode {
  const loaded = useApi<TrashItem[]>(`/api/v1/retention/trash?v=${props.version}`);
  const action = useAction();
  return (
    <>
      <h3>Trash</h3>
      <ErrorBox error={action.error} />
      <LoadedTable
        loaded={loaded}
        label="Trash"
        empty="The trash is empty."
        headings={['Image', 'Digest', 'Removed']}
        actions
        row={(i) => (
          <tr key={i.id}>
            <td>
              {i.repository}:{i.tag}
            </td>
            <td>
              <ShortDigest digest={i.digest} />
            </td>
            <td>
              <Ago at={new Date(i.removedAt).toISOString()} />
            </td>
            <td>
              <button
                type="button"
                className="small"
                disabled={action.busy}
                onClick={() =>
                  void action
                    .run(() => api('POST', `/api/v1/retention/trash/${i.id}/restore`))
                    .then((ok) => ok && props.restored())
                }
              >
                Restore
              </button>
            </td>
          </tr>
        )}
      />
    </>
  );
}

/** Retention policies, their runs, and the trash. */
export function Retention(): ReactNode {
  const loaded = useApi<Policy[]>('/api/v1/retention/policies');
  const [report, setReport] = useState<Report>();
  const [version, setVersion] = useState(0);
  const action = useAction();
  const run = (id: number, dryRun: boolean) =>
    void action.run(async () => {
      setReport(await api<Report>('POST', `/api/v1/retention/policies/${id}/run`, { dryRun }));
      setVersion((v) => v + 1);
    });
  return (
    <section aria-label="Retention">
      <h2>Retention</h2>
      <LoadedTable
        loaded={loaded}
        label="Retention policies"
        empty="No retention policies."
        headings={['Policy', 'Scope', 'Keeps', 'Runs']}
        actions
        row={(p) => (
          <tr key={p.id}>
            <td>{p.id}</td>
            <td>{p.scope}</td>
            <td>{p.rules.map(describe).join('; ')}</td>
            <td>{p.everyHours === null ? 'by hand' : `every ${p.everyHours} h`}</td>
            <td>
              <button
                type="button"
                className="small secondary"
                disabled={action.busy}
                onClick={() => run(p.id, true)}
              >
                Dry run
              </button>{' '}
              <button
                type="button"
                className="small danger"
                disabled={action.busy}
                onClick={() => run(p.id, false)}
              >
                Run now
              </button>
            </td>
          </tr>
        )}
      />
      <ErrorBox error={action.error} />
      {report && <ReportView report={report} />}
      <Trash version={version} restored={() => setVersion((v) => v + 1)} />
      <PolicyForm saved={() => loaded.reload()} />
    </section>
  );
}
