// Settings (administrators): domain, TLS certificate, storage, authentication; each with the
// source that wins (flag > environment > config file > this page > default). Saved values apply
// when Berth restarts.
import { useState, type ReactNode } from 'react';
import { api } from '../api';
import { ErrorBox, Loading, useAction, useApi } from '../ui';
import { Webhooks } from './Webhooks';
import { IdentityProviders } from './Identity';

interface Setting {
  key: string;
  running: unknown;
  saved: unknown;
  source: 'default' | 'ui' | 'file' | 'env' | 'flag';
  pendingRestart: boolean;
}

interface Certificate {
  subject?: string;
  issuer?: string;
  validFrom?: string;
  validTo?: string;
  dnsNames?: string;
  error?: string;
}

interface SettingsAnswer {
  settings: Setting[];
  certificate: Certificate | null;
  savedCertificate: Certificate | null;
  restartNeeded?: boolean;
}

const SOURCE: Record<Setting['source'], string> = {
  default: 'default',
  ui: 'this page',
  file: 'config file',
  env: 'environment',
  flag: 'command line',
};

function show(value: unknown): string {
  if (value === null || value === undefined) return '–';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function CertificateFacts(props: { cert: Certificate | null; label: string }): ReactNode {
  if (!props.cert) return null;
  if (props.cert.error)
    return (
      <p className="error">
        {props.label}: {props.cert.error}
      </p>
    );
  return (
    <p>
      {props.label}: <strong>{props.cert.subject}</strong>, issued by {props.cert.issuer}, valid
      until{' '}
      <strong>
        {props.cert.validTo ? new Date(props.cert.validTo).toLocaleDateString() : '?'}
      </strong>
      {props.cert.dnsNames && <> · {props.cert.dnsNames}</>}
    </p>
  );
}

function readFile(file: File | undefined): Promise<string> {
  return file ? file.text() : Promise.resolve('');
}

export function SettingsPage(): ReactNode {
  const loaded = useApi<SettingsAnswer>('/api/v1/settings');
  const action = useAction();
  const [saved, setSaved] = useState<SettingsAnswer>();
  const [certFile, setCertFile] = useState<File>();
  const [keyFile, setKeyFile] = useState<File>();
  const data = saved ?? loaded.data;
  const value = (key: string) => {
    const s = data?.settings.find((x) => x.key === key);
    return s ? (s.saved ?? s.running) : undefined;
  };
  const save = (change: Record<string, unknown>) =>
    void action.run(async () =>
      setSaved(await api<SettingsAnswer>('PUT', '/api/v1/settings', change)),
    );
  return (
    <section>
      <h1>Settings</h1>
      <p className="muted">
        Precedence: command line &gt; environment (<code>BERTH_…</code>) &gt; config file &gt; this
        page &gt; default. Changes saved here apply when Berth restarts.
      </p>
      {saved && (
        <div className="notice" role="status">
          Saved. The new values apply when Berth restarts.
        </div>
      )}
      <ErrorBox error={action.error} />
      <Loading loaded={loaded}>
        {() => (
          <>
            <table>
              <thead>
                <tr>
                  <th>Setting</th>
                  <th>In use</th>
                  <th>Saved here</th>
                  <th>Winning source</th>
                  <th>Restart</th>
                </tr>
              </thead>
              <tbody>
                {data!.settings.map((s) => (
                  <tr key={s.key}>
                    <td>
                      <code>{s.key}</code>
                    </td>
                    <td>{show(s.running)}</td>
                    <td>{show(s.saved)}</td>
                    <td>
                      <span className={`badge source-${s.source}`}>{SOURCE[s.source]}</span>
                      {s.saved !== null && s.source !== 'ui' && (
                        <div className="muted">the {SOURCE[s.source]} wins over this page</div>
                      )}
                    </td>
                    <td>{s.pendingRestart ? <strong>needed</strong> : '–'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <div className="columns">
              <form
                className="panel"
                onSubmit={(e) => {
                  e.preventDefault();
                  const form = new FormData(e.currentTarget);
                  save({ domain: String(form.get('domain') ?? '') || null });
                }}
              >
                <h2>Domain</h2>
                <label>
                  Registry name shown in pull commands
                  <input
                    name="domain"
                    defaultValue={show(value('domain')).replace('–', '')}
                    placeholder="registry.example.com"
                  />
                </label>
                <button type="submit">Save domain</button>
              </form>
              <form
                className="panel"
                onSubmit={(e) => {
                  e.preventDefault();
                  const form = new FormData(e.currentTarget);
                  save({
                    auth: {
                      anonymousPull: form.get('anonymousPull') === 'on',
                      tokenTtl: Number(form.get('tokenTtl')),
                      defaultVisibility: String(form.get('defaultVisibility')),
                    },
                  });
                }}
              >
                <h2>Authentication</h2>
                <label className="inline">
                  <input
                    type="checkbox"
                    name="anonymousPull"
                    defaultChecked={value('auth.anonymousPull') !== false}
                  />{' '}
                  anonymous pulls of public repositories
                </label>
                <label>
                  Registry token lifetime (seconds)
                  <input
                    type="number"
                    name="tokenTtl"
                    min={1}
                    max={3600}
                    defaultValue={Number(value('auth.tokenTtl') ?? 300)}
                  />
                </label>
                <label>
                  Visibility of new repositories
                  <select
                    name="defaultVisibility"
                    defaultValue={String(value('repositories.defaultVisibility') ?? 'private')}
                  >
                    <option value="private">private</option>
                    <option value="public">public</option>
                  </select>
                </label>
                <button type="submit">Save authentication</button>
              </form>
              <form
                className="panel"
                onSubmit={(e) => {
                  e.preventDefault();
                  const form = new FormData(e.currentTarget);
                  save({
                    storage: {
                      backend: String(form.get('backend')),
                      path: String(form.get('path') ?? '') || null,
                    },
                  });
                }}
              >
                <h2>Storage</h2>
                <label>
                  Backend
                  <select
                    name="backend"
                    defaultValue={String(value('storage.backend') ?? 'filesystem')}
                  >
                    <option value="filesystem">filesystem</option>
                  </select>
                </label>
                <label>
                  Blob directory (absolute; empty: inside the data directory)
                  <input
                    name="path"
                    defaultValue={show(value('storage.path')).replace('–', '')}
                    placeholder="/var/lib/berth/storage"
                  />
                </label>
                <button type="submit">Save storage</button>
              </form>
              <form
                className="panel"
                onSubmit={(e) => {
                  e.preventDefault();
                  void action.run(async () => {
                    const [cert, key] = await Promise.all([readFile(certFile), readFile(keyFile)]);
                    setSaved(
                      await api<SettingsAnswer>('PUT', '/api/v1/settings', { tls: { cert, key } }),
                    );
                  });
                }}
              >
                <h2>TLS certificate</h2>
                <CertificateFacts cert={data!.certificate} label="In use" />
                <CertificateFacts cert={data!.savedCertificate} label="Saved here" />
                {!data!.certificate && <p className="muted">Berth serves plain HTTP now.</p>}
                <label>
                  Certificate (PEM)
                  <input
                    type="file"
                    accept=".pem,.crt,.cer"
                    onChange={(e) => setCertFile(e.target.files?.[0])}
                    required
                  />
                </label>
                <label>
                  Private key (PEM)
                  <input
                    type="file"
                    accept=".pem,.key"
                    onChange={(e) => setKeyFile(e.target.files?.[0])}
                    required
                  />
                </label>
                <button type="submit">Upload certificate</button>{' '}
                <button type="button" className="secondary" onClick={() => save({ tls: null })}>
                  Remove saved certificate
                </button>
              </form>
            </div>
          </>
        )}
      </Loading>
      <IdentityProviders />
      <Webhooks path="/api/v1/webhooks" global />
    </section>
  );
}
