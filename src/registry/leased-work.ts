/**
 * Background work that runs once across replicas: each job takes a database lease, renews it while
 * it runs, and gives it up when done; a replica that dies leaves a lease that expires, so another
 * replica takes the job over.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { Meta } from '../meta/index.js';

/** This process's name in leases. */
export const LEASE_HOLDER = `${os.hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;

/** Runs jobs under leases. */
export class LeasedWork {
  constructor(
    private readonly meta: Meta,
    private readonly holder = LEASE_HOLDER,
  ) {}

  /**
   * Runs `work` if lease `name` can be had (for `ttlMs`, renewed every third of it); resolves
   * `{ ran: false, holder }` when another process holds it.
   */
  async run<T>(
    name: string,
    ttlMs: number,
    work: () => Promise<T>,
  ): Promise<{ ran: true; value: T } | { ran: false; holder: string | undefined }> {
    const acquire = () =>
      this.meta.writeTransaction((m) => m.leases.acquire(name, this.holder, ttlMs));
    if (!(await acquire()))
      return { ran: false, holder: (await this.meta.leases.holder(name))?.holder };
    const renew = setInterval(() => void acquire().catch(() => {}), Math.max(50, ttlMs / 3));
    renew.unref();
    try {
      return { ran: true, value: await work() };
    } finally {
      clearInterval(renew);
      await this.meta.leases.release(name, this.holder).catch(() => {});
    }
  }

  /** Who holds lease `name` now, if anyone. */
  async holderOf(name: string): Promise<string | undefined> {
    return (await this.meta.leases.holder(name))?.holder;
  }
}
