// A repository: description, visibility, pull command, tags; and one tag's manifest in full.
import { useState, type ReactNode } from 'react';
import Markdown from 'react-markdown';
import { Link, useLocation, useNavigate } from 'react-router';
import { api } from '../api';
import {
  Ago,
  CopyButton,
  Empty,
  ErrorBox,
  Loading,
  Pager,
  ShortDigest,
  Visibility,
  bytes,
  useAction,
  useApi,
} from '../ui';
import { TagPage } from './Tag';
import { Webhooks } from './Webhooks';
import { Builds } from './Builds';

interface RepositoryView {
  name: string;
  visibility: string;
  description: string | null;
  createdBy: string | null;
  createdAt: string;
  access: string | null;
}

interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** A tag as the repository page lists it. */
export interface TagRow {
  tag: string;
  digest: string;
  size: number;
  platforms: Platform[];
  pushedAt: string;
  pushedBy: string | null;
  lastPulledAt: string | null;
  signed: boolean;
  signers: string[];
  /** notary, cosign, notation: the kinds of signature that verify. */
  signatureKinds: string[];
}

/** `os/arch[/variant]`. */
export function platformText(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/** The registry host pull commands name. */
export function useRegistryHost(): string {
  const info = useApi<{ domain: string | null }>('/api/v1/info');
  return info.data?.domain ?? window.location.host;
}

function Description(props: { repo: RepositoryView; onSaved: () => void }): ReactNode {
  const [editing, setEditing] = useState(false);
  const [text, setText] = useState(props.repo.description ?? '');
  const action = useAction();
  const admin = props.repo.access === 'admin';
  if (editing)
    return (
      <form
        className="description"
        onSubmit={(e) => {
          e.preventDefault();
          void action
            .run(() =>
              api('PATCH', `/api/v1/repositories/${props.repo.name}`, {
                description: text || null,
              }),
            )
            .then((ok) => {
              if (ok) {
                setEditing(false);
                props.onSaved();
              }
            });
        }}
      >
        <label>
          Description (Markdown)
          <textarea rows={8} value={text} onChange={(e) => setText(e.target.value)} />
        </label>
        <ErrorBox error={action.error} />
        <button type="submit" disabled={action.busy}>
          Save description
        </button>{' '}
        <button type="button" className="secondary" onClick={() => setEditing(false)}>
          Cancel
        </button>
      </form>
    );
  return (
    <div className="description">
      {props.repo.description ? (
        <Markdown>{props.repo.description}</Markdown>
      ) : (
        <p className="muted">No description.</p>
      )}
      {admin && (
        <button type="button" className="small secondary" onClick={() => setEditing(true)}>
          Edit description
        </button>
      )}
    </div>
  );
}

/** One page of a repository's tags, as the API sends it. */
interface TagPageView {
  tags: TagRow[];
  total: number;
  next: string | null;
}

/** Tags shown per page: a repository may hold a hundred thousand. */
const TAGS_PER_PAGE = 100;

function Tags(props: { name: string; admin: boolean; host: string }): ReactNode {
  // The tags each earlier page ended with: the last one is where this page starts after.
  const [cursors, setCursors] = useState<string[]>([]);
  const after = cursors[cursors.length - 1];
  const tags = useApi<TagPageView>(
    `/api/v1/images/${props.name}/tags?n=${TAGS_PER_PAGE}` +
      (after === undefined ? '' : `&last=${encodeURIComponent(after)}`),
  );
  const action = useAction();
  const remove = (tag: string) => {
    if (
      !window.confirm(`Delete tag ${tag} of ${props.name}? The image stays if other tags use it.`)
    )
      return;
    void action
      .run(() => api('DELETE', `/api/v1/images/${props.name}/tags/${tag}`))
      .then((ok) => ok && tags.reload());
  };
  return (
    <>
      <h2>Tags</h2>
      <ErrorBox error={action.error} />
      <Loading loaded={tags}>
        {({ tags: rows, total, next }) =>
          rows.length === 0 && cursors.length === 0 ? (
            <Empty>
              No tags yet:{' '}
              <code>
                docker push {props.host}/{props.name}:TAG
              </code>
            </Empty>
          ) : (
            <>
              <table>
                <thead>
                  <tr>
                    <th>Tag</th>
                    <th>Digest</th>
                    <th>Size</th>
                    <th>Platforms</th>
                    <th>Pushed</th>
                    <th>Last pulled</th>
                    <th>Signed</th>
                    {props.admin && <th aria-label="Actions" />}
                  </tr>
                </thead>
                <tbody>
                  {rows.map((t) => (
                    <tr key={t.tag}>
                      <td>
                        <Link to={`/r/${props.name}/-/tag/${t.tag}`}>{t.tag}</Link>
                      </td>
                      <td>
                        <ShortDigest digest={t.digest} />
                      </td>
                      <td>{bytes(t.size)}</td>
                      <td>{t.platforms.map(platformText).join(', ') || '–'}</td>
                      <td>
                        <Ago at={t.pushedAt} />
                        {t.pushedBy && <span className="muted"> by {t.pushedBy}</span>}
                      </td>
                      <td>
                        <Ago at={t.lastPulledAt} />
                      </td>
                      <td>
                        {t.signed ? (
                          t.signatureKinds.map((kind) => (
                            <span
                              key={kind}
                              className="badge signed"
                              title={`${kind}: ${t.signers.join(', ')}`}
                            >
                              {kind}
                            </span>
                          ))
                        ) : (
                          <span className="muted">no</span>
                        )}
                      </td>
                      {props.admin && (
                        <td>
                          <button
                            type="button"
                            className="small danger"
                            onClick={() => remove(t.tag)}
                            aria-label={`Delete tag ${t.tag}`}
                          >
                            Delete
                          </button>
                        </td>
                      )}
                    </tr>
                  ))}
                </tbody>
              </table>
              {(cursors.length > 0 || next !== null) && (
                <Pager
                  previous={cursors.length > 0 ? () => setCursors(cursors.slice(0, -1)) : undefined}
                  next={next !== null ? () => setCursors([...cursors, next]) : undefined}
                >
                  <span className="muted">
                    Tags {cursors.length * TAGS_PER_PAGE + 1}–
                    {cursors.length * TAGS_PER_PAGE + rows.length} of {total}
                  </span>
                </Pager>
              )}
            </>
          )
        }
      </Loading>
    </>
  );
}

export function RepositoryPage(): ReactNode {
  const location = useLocation();
  const path = decodeURIComponent(location.pathname.slice('/r/'.length));
  const [name, rest] = path.split('/-/');
  const host = useRegistryHost();
  const repo = useApi<RepositoryView>(`/api/v1/repositories/${name}`);
  const action = useAction();
  const navigate = useNavigate();
  if (rest?.startsWith('tag/'))
    return <TagPage name={name!} reference={rest.slice(4)} host={host} />;
  return (
    <section>
      <Loading loaded={repo}>
        {(r) => {
          const admin = r.access === 'admin';
          const pull = `docker pull ${host}/${r.name}`;
          return (
            <>
              <div className="title-row">
                <h1>
                  {r.name} <Visibility value={r.visibility} />
                </h1>
                {admin && (
                  <div>
                    <button
                      type="button"
                      className="secondary"
                      disabled={action.busy}
                      onClick={() =>
                        void action
                          .run(() =>
                            api('PATCH', `/api/v1/repositories/${r.name}`, {
                              visibility: r.visibility === 'public' ? 'private' : 'public',
                            }),
                          )
                          .then((ok) => ok && repo.reload())
                      }
                    >
                      Make {r.visibility === 'public' ? 'private' : 'public'}
                    </button>{' '}
                    <button
                      type="button"
                      className="danger"
                      onClick={() => {
                        if (window.confirm(`Delete ${r.name} with all its tags?`))
                          void action
                            .run(() => api('DELETE', `/api/v1/repositories/${r.name}`))
                            .then((ok) => ok && navigate('/'));
                      }}
                    >
                      Delete repository
                    </button>
                  </div>
                )}
              </div>
              <ErrorBox error={action.error} />
              <p className="muted">
                Created <Ago at={r.createdAt} />
                {r.createdBy && ` by ${r.createdBy}`} · your access: {r.access ?? 'none'}
              </p>
              <div className="pull">
                <code>{pull}</code> <CopyButton text={pull} label="Copy the pull command" />
              </div>
              <Description repo={r} onSaved={repo.reload} />
              <Tags name={r.name} admin={admin} host={host} />
              <Builds name={r.name} canBuild={r.access === 'write' || admin} admin={admin} />
              {admin && <Webhooks path={`/api/v1/repositories/${r.name}/_webhooks`} />}
            </>
          );
        }}
      </Loading>
    </section>
  );
}
