// One tag (or digest): the manifest, config, layers with their history, platforms, referrers.
import type { ReactNode } from 'react';
import { Link } from 'react-router';
import { CopyButton, Empty, Loading, ShortDigest, bytes, useApi } from '../ui';

interface ManifestView {
  digest: string;
  mediaType: string;
  size: number;
  manifest: unknown;
  config: {
    os?: string;
    architecture?: string;
    created?: string;
    config?: {
      Env?: string[];
      Cmd?: string[] | null;
      Entrypoint?: string[] | null;
      Labels?: Record<string, string> | null;
      WorkingDir?: string;
      User?: string;
    };
  } | null;
  layers: {
    digest: string;
    mediaType: string;
    size: number;
    createdBy: string | null;
    created: string | null;
  }[];
  emptyHistory: { createdBy: string | null; created: string | null }[];
  platforms: { digest: string; size: number; os: string; architecture: string; variant?: string }[];
  referrers: { digest: string; artifactType: string | null; mediaType: string; size: number }[];
}

function command(text: string | null): string {
  if (!text) return '–';
  return text.replace(/^\/bin\/sh -c #\(nop\)\s*/, '').replace(/^\/bin\/sh -c /, 'RUN ');
}

export function TagPage(props: { name: string; reference: string; host: string }): ReactNode {
  const loaded = useApi<ManifestView>(`/api/v1/images/${props.name}/manifests/${props.reference}`);
  const separator = props.reference.includes(':') ? '@' : ':';
  const pull = `docker pull ${props.host}/${props.name}${separator}${props.reference}`;
  return (
    <section>
      <p>
        <Link to={`/r/${props.name}`}>← {props.name}</Link>
      </p>
      <h1>
        {props.name}
        {separator}
        {props.reference.replace(/^(sha256:.{12}).*/, '$1…')}
      </h1>
      <div className="pull">
        <code>{pull}</code> <CopyButton text={pull} label="Copy the pull command" />
      </div>
      <Loading loaded={loaded}>
        {(m) => {
          const total = m.layers.reduce((s, l) => s + l.size, 0);
          const cfg = m.config?.config;
          return (
            <>
              <dl className="facts">
                <dt>Digest</dt>
                <dd>
                  <code>{m.digest}</code> <CopyButton text={m.digest} label="Copy the digest" />
                </dd>
                <dt>Media type</dt>
                <dd>{m.mediaType}</dd>
                {m.config && (
                  <>
                    <dt>Platform</dt>
                    <dd>
                      {m.config.os}/{m.config.architecture}
                    </dd>
                    <dt>Size</dt>
                    <dd>
                      {bytes(total)} in {m.layers.length} layers
                    </dd>
                    {cfg?.Entrypoint && (
                      <>
                        <dt>Entrypoint</dt>
                        <dd>
                          <code>{cfg.Entrypoint.join(' ')}</code>
                        </dd>
                      </>
                    )}
                    {cfg?.Cmd && (
                      <>
                        <dt>Command</dt>
                        <dd>
                          <code>{cfg.Cmd.join(' ')}</code>
                        </dd>
                      </>
                    )}
                    {cfg?.Env && (
                      <>
                        <dt>Environment</dt>
                        <dd>
                          {cfg.Env.map((e) => (
                            <div key={e}>
                              <code>{e}</code>
                            </div>
                          ))}
                        </dd>
                      </>
                    )}
                    {cfg?.Labels && Object.keys(cfg.Labels).length > 0 && (
                      <>
                        <dt>Labels</dt>
                        <dd>
                          {Object.entries(cfg.Labels).map(([k, v]) => (
                            <div key={k}>
                              <code>
                                {k}={v}
                              </code>
                            </div>
                          ))}
                        </dd>
                      </>
                    )}
                  </>
                )}
              </dl>
              {m.platforms.length > 0 && (
                <>
                  <h2>Platforms</h2>
                  <table>
                    <thead>
                      <tr>
                        <th>Platform</th>
                        <th>Digest</th>
                        <th>Manifest size</th>
                      </tr>
                    </thead>
                    <tbody>
                      {m.platforms.map((p) => (
                        <tr key={p.digest}>
                          <td>{[p.os, p.architecture, p.variant].filter(Boolean).join('/')}</td>
                          <td>
                            <Link to={`/r/${props.name}/-/tag/${p.digest}`}>
                              <ShortDigest digest={p.digest} />
                            </Link>
                          </td>
                          <td>{bytes(p.size)}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </>
              )}
              {m.layers.length > 0 && (
                <>
                  <h2>Layers</h2>
                  <table className="layers">
                    <thead>
                      <tr>
                        <th>#</th>
                        <th>Digest</th>
                        <th>Size</th>
                        <th>Made by</th>
                      </tr>
                    </thead>
                    <tbody>
                      {m.layers.map((l, i) => (
                        <tr key={`${l.digest}-${i}`}>
                          <td>{i + 1}</td>
                          <td>
                            <ShortDigest digest={l.digest} />
                          </td>
                          <td>{bytes(l.size)}</td>
                          <td>
                            <code className="wrap">{command(l.createdBy)}</code>
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                  {m.emptyHistory.length > 0 && (
                    <details>
                      <summary>{m.emptyHistory.length} history steps without a layer</summary>
                      <ul>
                        {m.emptyHistory.map((h, i) => (
                          <li key={i}>
                            <code className="wrap">{command(h.createdBy)}</code>
                          </li>
                        ))}
                      </ul>
                    </details>
                  )}
                </>
              )}
              <h2>Referrers</h2>
              {m.referrers.length === 0 ? (
                <Empty>No signatures, SBOMs or other artifacts refer to this manifest.</Empty>
              ) : (
                <table>
                  <thead>
                    <tr>
                      <th>Artifact type</th>
                      <th>Digest</th>
                      <th>Size</th>
                    </tr>
                  </thead>
                  <tbody>
                    {m.referrers.map((r) => (
                      <tr key={r.digest}>
                        <td>{r.artifactType ?? r.mediaType}</td>
                        <td>
                          <Link to={`/r/${props.name}/-/tag/${r.digest}`}>
                            <ShortDigest digest={r.digest} />
                          </Link>
                        </td>
                        <td>{bytes(r.size)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
              <details>
                <summary>Manifest JSON</summary>
                <pre>{JSON.stringify(m.manifest, null, 2)}</pre>
              </details>
              {m.config && (
                <details>
                  <summary>Config JSON</summary>
                  <pre>{JSON.stringify(m.config, null, 2)}</pre>
                </details>
              )}
            </>
          );
        }}
      </Loading>
    </section>
  );
}
