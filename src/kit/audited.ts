/** Marking errors already recorded in the audit log, so the HTTP edge does not record them twice. */
const audited = new WeakSet<object>();

/** Marks `err` as recorded in the audit log already. */
export function markAudited<E extends object>(err: E): E {
  audited.add(err);
  return err;
}

/** Whether `err` was recorded in the audit log where it was thrown. */
export function wasAudited(err: unknown): boolean {
  return typeof err === 'object' && err !== null && audited.has(err);
}
