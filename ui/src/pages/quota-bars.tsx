// Bars for what a scope uses against its limits, shared by the governance and organisation pages.
import type { ReactNode } from 'react';
import { bytes } from '../ui';

/** What a scope uses (as the API reports it). */
export interface QuotaUsage {
  logical: number;
  exclusive: number;
  repositories: number;
  tags: number;
}

/** A quota's limits (null: none). */
export interface QuotaLimits {
  kind: 'global' | 'namespace' | 'repository';
  scope: string;
  storageSoft: number | null;
  storageHard: number | null;
  repositoriesMax: number | null;
  tagsMax: number | null;
}

/** One bar: `used` of `limit`, marked past `soft`; a plain figure when there is no limit. */
export function UsageBar(props: {
  label: string;
  used: number;
  limit: number | null;
  soft?: number | null;
  format?: (n: number) => string;
}): ReactNode {
  const format = props.format ?? String;
  const { used, limit, soft } = props;
  const over = limit !== null && used >= limit;
  const warn = !over && soft !== null && soft !== undefined && used > soft;
  return (
    <div className="usage">
      <span>
        {props.label}: {format(used)}
        {limit !== null && ` of ${format(limit)}`}
        {soft !== null && soft !== undefined && ` (warns past ${format(soft)})`}
      </span>
      {limit !== null && (
        <meter
          min={0}
          max={Math.max(limit, 1)}
          value={Math.min(used, limit)}
          className={over ? 'full' : warn ? 'warn' : undefined}
          aria-label={`${props.label} used`}
        />
      )}
    </div>
  );
}

/** The bars of one quota against its scope's usage. */
export function QuotaBars(props: { quota: QuotaLimits | undefined; usage: QuotaUsage }): ReactNode {
  const q = props.quota;
  return (
    <div className="quota-bars">
      <UsageBar
        label="Storage"
        used={props.usage.logical}
        limit={q?.storageHard ?? null}
        soft={q?.storageSoft ?? null}
        format={bytes}
      />
      <p className="muted">{bytes(props.usage.exclusive)} of it held by nothing else</p>
      <UsageBar
        label="Repositories"
        used={props.usage.repositories}
        limit={q?.repositoriesMax ?? null}
      />
      <UsageBar label="Tags" used={props.usage.tags} limit={q?.tagsMax ?? null} />
    </div>
  );
}
