/**
 * Reconnection delays: exponential backoff with jitter, so that many clients cut off by one server restart do
 * not all come back in the same instant.
 */

export interface BackoffOptions {
  /** The first delay (default 250 ms). */
  initialMs?: number;
  /** The longest delay (default 10 s). */
  maxMs?: number;
  /** Growth per attempt (default 2). */
  factor?: number;
  /** The share of each delay that is random, 0 to 1 (default 0.5: a delay is between half and all of its step). */
  jitter?: number;
}

/** The delay before reconnection attempt `attempt` (0 for the first). */
export function backoffDelay(attempt: number, options: BackoffOptions = {}, random: () => number = Math.random): number {
  const initial = options.initialMs ?? 250;
  const max = options.maxMs ?? 10_000;
  const factor = options.factor ?? 2;
  const jitter = Math.min(1, Math.max(0, options.jitter ?? 0.5));
  const step = Math.min(max, initial * Math.pow(factor, attempt));
  return Math.round(step * (1 - jitter * random()));
}
