/**
 * Managing upstreams and cache namespaces (administrators): saved with their passwords sealed,
 * tested, audited; the cache sees changes at once in this process and within seconds elsewhere.
 */
import { actsAsAdmin, type Actor, type AuditSink } from '../auth/index.js';
import type { SecretBox } from '../kit/index.js';
import type { CacheNamespaceRecord, Meta, UpstreamRecord } from '../meta/index.js';
import { BerthError, isValidName } from '../oci/index.js';
import { sealUpstreamPassword, UpstreamClients } from './upstreams.js';

/** An upstream as saved through the API (the password in the clear, sealed here). */
export interface UpstreamInput {
  urls: string[];
  username?: string | null;
  password?: string | null;
  ca?: string | null;
  bandwidth?: number | null;
}

/** A cache namespace as saved through the API. */
export type NamespaceInput = Omit<CacheNamespaceRecord, 'namespace' | 'createdAt'>;

/** An upstream as shown (never its password). */
export type UpstreamView = Omit<UpstreamRecord, 'sealedPassword'> & { hasPassword: boolean };

/** Upstreams and cache namespaces for administrators. */
export class CacheAdmin {
  constructor(
    private readonly meta: Meta,
    private readonly box: SecretBox,
    private readonly audit: AuditSink,
    private readonly changed: () => void,
  ) {}

  private requireAdmin(actor: Actor): void {
    if (!actsAsAdmin(actor.principal))
      throw new BerthError('DENIED', 'only administrators may manage upstreams and caches');
  }

  private async record(
    actor: Actor,
    action: string,
    target: string,
    detail: Record<string, unknown>,
  ) {
    await this.audit.record({
      actor: actor.principal.name,
      action,
      target,
      outcome: 'success',
      address: actor.address,
      detail,
    });
    this.changed();
  }

  /** Every upstream. */
  async upstreams(actor: Actor): Promise<UpstreamView[]> {
    this.requireAdmin(actor);
    return (await this.meta.cache.upstreams()).map(({ sealedPassword, ...u }) => ({
      ...u,
      hasPassword: sealedPassword !== null,
    }));
  }

  /** Saves upstream `name` (a password left out is kept). */
  async putUpstream(actor: Actor, name: string, input: UpstreamInput): Promise<void> {
    this.requireAdmin(actor);
    if (!/^[a-z0-9][a-z0-9-]{0,31}$/.test(name))
      throw new BerthError('INVALID_REQUEST', 'upstream names are a-z, 0-9 and - (up to 32)');
    for (const url of input.urls)
      if (!/^https?:\/\/[^/\s]+\/?$/.test(url))
        throw new BerthError('INVALID_REQUEST', `${url}: an upstream URL is http(s)://host[:port]`);
    const old = (await this.meta.cache.upstreams()).find((u) => u.name === name);
    const sealedPassword =
      input.password === undefined
        ? (old?.sealedPassword ?? null)
        : input.password === null
          ? null
          : sealUpstreamPassword(this.box, name, input.password);
    await this.meta.cache.putUpstream({
      name,
      urls: input.urls.map((u) => u.replace(/\/$/, '')),
      username: input.username === undefined ? (old?.username ?? null) : input.username,
      sealedPassword,
      ca: input.ca ?? null,
      bandwidth: input.bandwidth ?? null,
      createdAt: old?.createdAt ?? Date.now(),
    });
    await this.record(actor, 'upstream.put', name, {
      urls: input.urls,
      passwordChanged: input.password !== undefined,
    });
  }

  /** Removes an upstream no cache namespace uses. */
  async removeUpstream(actor: Actor, name: string): Promise<void> {
    this.requireAdmin(actor);
    const users = (await this.meta.cache.namespaces()).filter((n) => n.upstream === name);
    if (users.length > 0)
      throw new BerthError(
        'CONFLICT',
        `${name} is the upstream of ${users.map((n) => n.namespace).join(', ')}`,
      );
    if (!(await this.meta.cache.removeUpstream(name)))
      throw new BerthError('NOT_FOUND', `no upstream ${name}`);
    await this.record(actor, 'upstream.delete', name, {});
  }

  /** Checks that the upstream answers and takes its credentials: which URL answered. */
  async testUpstream(
    actor: Actor,
    name: string,
  ): Promise<{ ok: true; url: string } | { ok: false; error: string }> {
    this.requireAdmin(actor);
    const upstream = (await this.meta.cache.upstreams()).find((u) => u.name === name);
    if (!upstream) throw new BerthError('NOT_FOUND', `no upstream ${name}`);
    const clients = new UpstreamClients(upstream, this.box, 10_000);
    try {
      const url = await clients.use(async (c) => {
        await c.ping();
        return c.registry;
      });
      return { ok: true, url };
    } catch (err) {
      return { ok: false, error: (err as Error).message };
    }
  }

  /** Every cache namespace. */
  async namespaces(actor: Actor): Promise<CacheNamespaceRecord[]> {
    this.requireAdmin(actor);
    return this.meta.cache.namespaces();
  }

  /** Makes `namespace` a pull-through cache of an upstream. */
  async putNamespace(actor: Actor, namespace: string, input: NamespaceInput): Promise<void> {
    this.requireAdmin(actor);
    if (!isValidName(namespace) || namespace.includes('/'))
      throw new BerthError('INVALID_REQUEST', 'a cache namespace is one lowercase name component');
    if (!(await this.meta.cache.upstreams()).some((u) => u.name === input.upstream))
      throw new BerthError('NOT_FOUND', `no upstream ${input.upstream}`);
    if (input.upstreamPrefix !== '' && !/^[a-z0-9._/-]+\/$/.test(input.upstreamPrefix))
      throw new BerthError('INVALID_REQUEST', 'an upstream prefix ends with / (library/)');
    const mirrors = (await this.meta.cache.namespaces()).filter(
      (n) => n.mirror && n.namespace !== namespace,
    );
    if (input.mirror && mirrors.length > 0)
      throw new BerthError(
        'CONFLICT',
        `${mirrors[0]!.namespace} already answers registry-mirrors requests`,
      );
    const old = (await this.meta.cache.namespaces()).find((n) => n.namespace === namespace);
    await this.meta.cache.putNamespace({
      namespace,
      ...input,
      createdAt: old?.createdAt ?? Date.now(),
    });
    await this.record(actor, 'cache.put', namespace, { ...input });
  }

  /** Stops caching `namespace` (what is cached stays, as ordinary repositories). */
  async removeNamespace(actor: Actor, namespace: string): Promise<void> {
    this.requireAdmin(actor);
    if (!(await this.meta.cache.removeNamespace(namespace)))
      throw new BerthError('NOT_FOUND', `no cache namespace ${namespace}`);
    await this.record(actor, 'cache.delete', namespace, {});
  }
}
