/** Each part's settings, read from the configuration (the composition root's arithmetic). */
import { hostname } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { bindPasswordLabel, type AuthSettings } from '../auth/index.js';
import type { RunnerSettings } from '../builds/index.js';
import type { BerthConfig } from '../config/index.js';
import type { DestinationRules, DispatchSettings } from '../events/index.js';
import type { SecretBox } from '../kit/index.js';

/** A bind password as configured: in the clear, or `sealed:…` (from `berth idp seal-password`). */
function bindPasswordOf(box: SecretBox, provider: string, value: string): string {
  if (!value.startsWith('sealed:')) return value;
  try {
    return box.open(value.slice('sealed:'.length), bindPasswordLabel(provider)).toString();
  } catch {
    throw new Error(
      `identity.providers ${provider}: the sealed bind password does not open with this master key`,
    );
  }
}

/** The auth service's settings, bind passwords opened with `box`. */
export function authSettingsOf(config: BerthConfig, box: SecretBox): AuthSettings {
  return {
    service: config.auth.service,
    issuer: config.auth.issuer,
    realm: config.auth.realm,
    tokenTtlSeconds: config.auth.tokenTtl,
    refreshTtlSeconds: config.auth.refreshTtl,
    anonymousPull: config.auth.anonymousPull,
    maxFailures: config.auth.maxFailures,
    failureWindowSeconds: config.auth.failureWindow,
    defaultVisibility: config.repositories.defaultVisibility,
    cacheTtlMs: config.cache.ttl * 1000,
    directories: config.identity.providers.map((p) => ({
      ...p,
      bindPassword: bindPasswordOf(box, p.name, p.bindPassword),
    })),
  };
}

/** Where webhooks may deliver, from the configuration. */
export function destinationRulesOf(config: BerthConfig): DestinationRules {
  return {
    allowPrivateNetworks: config.webhooks.allowPrivateNetworks,
    allow: config.webhooks.allow,
  };
}

/** How this process delivers webhooks, from the configuration. */
export function dispatchSettingsOf(config: BerthConfig, version: string): DispatchSettings {
  const w = config.webhooks;
  return {
    retry: { baseMs: w.retryBaseMs, capMs: w.retryCapMs, windowMs: w.retryWindow * 1000 },
    maxAttempts: w.maxAttempts,
    rules: destinationRulesOf(config),
    timeoutMs: w.timeout * 1000,
    concurrency: w.concurrency,
    circuit: { threshold: w.circuitThreshold, openMs: w.circuitOpen * 1000 },
    holder: `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
    userAgent: `Berth-Webhooks/${version}`,
    keepMs: w.keepDays * 86_400_000,
  };
}

/** How builds run, from the configuration. */
export function buildSettingsOf(
  config: BerthConfig,
  registry: () => string | undefined,
): RunnerSettings {
  const b = config.builds;
  return {
    engine: {
      host: b.dockerHost,
      tls: b.tlsCert || b.tlsCa ? { ca: b.tlsCa, cert: b.tlsCert, key: b.tlsKey } : undefined,
    },
    registry,
    aliases: config.domain ? [config.domain] : [],
    concurrency: b.concurrency,
    perNamespace: b.perNamespace,
    timeoutMs: b.timeout * 1000,
    leaseMs: b.leaseSeconds * 1000,
    workDir: path.join(config.data, 'builds'),
    holder: `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
    maxFailures: b.maxFailures,
    pollMs: b.pollMs,
  };
}
