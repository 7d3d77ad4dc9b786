/**
 * When to try a delivery again: jittered exponential backoff up to a cap, given up (dead letter)
 * once the event is older than the delivery window; and a circuit breaker that stops hammering an
 * endpoint that keeps failing. Clock and randomness are injected, so tests need no waiting.
 */

/** How retries are paced. */
export interface RetryPolicy {
  /** The first delay, ms. */
  baseMs: number;
  /** The longest delay, ms. */
  capMs: number;
  /** Stop retrying (dead letter) once the event is this old, ms. */
  windowMs: number;
}

/** The defaults: 5 s, doubling to at most 1 h, for 24 h. */
export const DEFAULT_RETRY: RetryPolicy = {
  baseMs: 5_000,
  capMs: 3_600_000,
  windowMs: 86_400_000,
};

/**
 * When attempt `attempt` (1 for the first retry) of an event made at `eventAt` should run, or
 * undefined when it is past the window (the delivery is dead-lettered). "Equal jitter": half the
 * backoff fixed, half random, so retries of many deliveries spread out but never come early.
 */
export function nextAttemptAt(
  policy: RetryPolicy,
  attempt: number,
  eventAt: number,
  now: number,
  random: () => number = Math.random,
): number | undefined {
  const backoff = Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, attempt - 1));
  const at = now + backoff / 2 + random() * (backoff / 2);
  return at - eventAt > policy.windowMs ? undefined : Math.round(at);
}

/** The state of an endpoint's circuit. */
export interface Circuit {
  failures: number;
  /** While open, no delivery is tried before this time (ms). */
  openUntil: number;
}

/** A closed circuit. */
export const CLOSED: Circuit = { failures: 0, openUntil: 0 };

/**
 * The circuit after a delivery's outcome: `threshold` consecutive failures open it for `openMs`;
 * the first delivery after that is the probe; any success closes it.
 */
export function afterDelivery(
  circuit: Circuit,
  succeeded: boolean,
  now: number,
  threshold = 5,
  openMs = 60_000,
): Circuit {
  if (succeeded) return CLOSED;
  const failures = circuit.failures + 1;
  return { failures, openUntil: failures >= threshold ? now + openMs : circuit.openUntil };
}

/** Whether a delivery to an endpoint in `circuit` may be tried at `now`. */
export function mayDeliver(circuit: Circuit, now: number): boolean {
  return now >= circuit.openUntil;
}
