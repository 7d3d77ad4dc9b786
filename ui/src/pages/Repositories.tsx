// The repository list: search, namespace and visibility filters, sorting, pages.
import type { ReactNode } from 'react';
import { Link, useSearchParams } from 'react-router';
import { useSession } from '../session';
import { Ago, Empty, Loading, Pager, Visibility, bytes, useApi } from '../ui';

/** A repository as the catalog lists it. */
export interface CatalogEntry {
  name: string;
  namespace: string | null;
  visibility: string;
  description: string | null;
  size: number;
  tags: number;
  pushedAt: string | null;
  pulls: number;
}

interface CatalogPage {
  total: number;
  page: number;
  pages: number;
  namespaces: string[];
  repositories: CatalogEntry[];
}

const SORTS: [string, string][] = [
  ['name', 'Name'],
  ['pushed', 'Last push'],
  ['size', 'Size'],
  ['pulls', 'Pulls'],
];

export function RepositoriesPage(): ReactNode {
  const [params, setParams] = useSearchParams();
  const session = useSession();
  const query = new URLSearchParams();
  for (const key of ['q', 'namespace', 'visibility', 'sort', 'order', 'page'])
    if (params.get(key)) query.set(key, params.get(key)!);
  const loaded = useApi<CatalogPage>(`/api/v1/catalog?${query.toString()}`);
  const set = (key: string, value: string) => {
    const next = new URLSearchParams(params);
    if (value) next.set(key, value);
    else next.delete(key);
    if (key !== 'page') next.delete('page');
    setParams(next);
  };
  const page = Number(params.get('page') ?? '1');
  return (
    <section>
      <div className="title-row">
        <h1>Repositories</h1>
        {session && (
          <Link className="button" to="/new">
            New repository
          </Link>
        )}
      </div>
      <div className="filters" role="group" aria-label="Filter and sort">
        <input
          type="search"
          aria-label="Filter by name or description"
          placeholder="Filter by name or description"
          defaultValue={params.get('q') ?? ''}
          onKeyDown={(e) => e.key === 'Enter' && set('q', e.currentTarget.value)}
          onBlur={(e) =>
            e.currentTarget.value !== (params.get('q') ?? '') && set('q', e.currentTarget.value)
          }
        />
        <select
          aria-label="Namespace"
          value={params.get('namespace') ?? ''}
          onChange={(e) => set('namespace', e.target.value)}
        >
          <option value="">All namespaces</option>
          {(loaded.data?.namespaces ?? []).map((n) => (
            <option key={n} value={n}>
              {n}
            </option>
          ))}
        </select>
        <select
          aria-label="Visibility"
          value={params.get('visibility') ?? ''}
          onChange={(e) => set('visibility', e.target.value)}
        >
          <option value="">Public and private</option>
          <option value="public">Public</option>
          <option value="private">Private</option>
        </select>
        <select
          aria-label="Sort by"
          value={params.get('sort') ?? 'name'}
          onChange={(e) => set('sort', e.target.value)}
        >
          {SORTS.map(([value, label]) => (
            <option key={value} value={value}>
              Sort: {label}
            </option>
          ))}
        </select>
        <button
          type="button"
          className="small"
          aria-label="Reverse the order"
          onClick={() =>
            set(
              'order',
              (params.get('order') ??
                (params.get('sort') && params.get('sort') !== 'name' ? 'desc' : 'asc')) === 'asc'
                ? 'desc'
                : 'asc',
            )
          }
        >
          ⇅
        </button>
      </div>
      <Loading loaded={loaded}>
        {(data) =>
          data.repositories.length === 0 ? (
            <Empty>
              {params.get('q')
                ? `No repository matches “${params.get('q')}”.`
                : 'No repositories yet. Push an image, or create one.'}
            </Empty>
          ) : (
            <>
              <table>
                <thead>
                  <tr>
                    <th>Name</th>
                    <th>Visibility</th>
                    <th>Tags</th>
                    <th>Size</th>
                    <th>Last push</th>
                    <th>Pulls</th>
                  </tr>
                </thead>
                <tbody>
                  {data.repositories.map((r) => (
                    <tr key={r.name}>
                      <td>
                        <Link to={`/r/${r.name}`}>{r.name}</Link>
                        {r.description && (
                          <div className="muted one-line">{r.description.split('\n')[0]}</div>
                        )}
                      </td>
                      <td>
                        <Visibility value={r.visibility} />
                      </td>
                      <td>{r.tags}</td>
                      <td>{bytes(r.size)}</td>
                      <td>
                        <Ago at={r.pushedAt} />
                      </td>
                      <td>{r.pulls}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <Pager
                previous={page > 1 ? () => set('page', String(page - 1)) : undefined}
                next={page < data.pages ? () => set('page', String(page + 1)) : undefined}
              >
                <span>
                  Page {data.page} of {data.pages} · {data.total} repositories
                </span>
              </Pager>
            </>
          )
        }
      </Loading>
    </section>
  );
}
