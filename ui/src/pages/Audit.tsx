// The audit log: filter by user, action, repository and time; page backwards.
import { useState, type ReactNode } from 'react';
import { Ago, Empty, Loading, Pager, useApi } from '../ui';

interface Entry {
  id: number;
  at: string;
  actor: string | null;
  action: string;
  target: string | null;
  outcome: string;
  address: string | null;
  detail: Record<string, unknown> | null;
}

export function AuditPage(): ReactNode {
  const [filters, setFilters] = useState({
    actor: '',
    action: '',
    target: '',
    since: '',
    until: '',
  });
  const [applied, setApplied] = useState(filters);
  const [before, setBefore] = useState<number[]>([]);
  const query = new URLSearchParams({ n: '50' });
  for (const [k, v] of Object.entries(applied))
    if (v) query.set(k, k === 'since' || k === 'until' ? new Date(v).toISOString() : v);
  const cursor = before.at(-1);
  if (cursor !== undefined) query.set('before', String(cursor));
  const loaded = useApi<{ entries: Entry[]; next: number | null }>(
    `/api/v1/audit?${query.toString()}`,
  );
  const field = (key: keyof typeof filters, label: string, type = 'text') => (
    <label>
      {label}
      <input
        type={type}
        value={filters[key]}
        onChange={(e) => setFilters({ ...filters, [key]: e.target.value })}
      />
    </label>
  );
  return (
    <section>
      <h1>Audit log</h1>
      <form
        className="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          setBefore([]);
          setApplied(filters);
        }}
      >
        {field('actor', 'User')}
        {field('action', 'Action (prefix)')}
        {field('target', 'Repository or target')}
        {field('since', 'Since', 'datetime-local')}
        {field('until', 'Until', 'datetime-local')}
        <button type="submit">Filter</button>
      </form>
      <Loading loaded={loaded}>
        {(data) =>
          data.entries.length === 0 ? (
            <Empty>No entries match.</Empty>
          ) : (
            <>
              <table>
                <thead>
                  <tr>
                    <th>When</th>
                    <th>User</th>
                    <th>Action</th>
                    <th>Target</th>
                    <th>Outcome</th>
                    <th>From</th>
                    <th>Detail</th>
                  </tr>
                </thead>
                <tbody>
                  {data.entries.map((e) => (
                    <tr key={e.id}>
                      <td>
                        <Ago at={e.at} />
                      </td>
                      <td>{e.actor ?? <span className="muted">anonymous</span>}</td>
                      <td>
                        <code>{e.action}</code>
                      </td>
                      <td>{e.target ?? '–'}</td>
                      <td>
                        <span className={`badge ${e.outcome}`}>{e.outcome}</span>
                      </td>
                      <td>{e.address ?? '–'}</td>
                      <td>
                        <code className="wrap">{e.detail ? JSON.stringify(e.detail) : ''}</code>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <Pager
                previousLabel="Newer"
                nextLabel="Older"
                previous={before.length > 0 ? () => setBefore(before.slice(0, -1)) : undefined}
                next={
                  data.next !== null && data.entries.length >= 50
                    ? () => setBefore([...before, data.next!])
                    : undefined
                }
              />
            </>
          )
        }
      </Loading>
    </section>
  );
}
