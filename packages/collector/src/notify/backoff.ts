/**
 * Delay before retry number `attempt` (1 = the first retry): doubles from
 * initialMs, capped at maxMs. No jitter: one collector sends, so there is no
 * herd to spread, and a fixed schedule is easier to reason about.
 */
export function retryDelayMs(attempt: number, opts: { initialMs: number; maxMs: number }): number {
  const exp = Math.min(Math.max(attempt, 1) - 1, 40);
  return Math.min(opts.maxMs, opts.initialMs * 2 ** exp);
}

/** What to do after a failed attempt. */
export function afterFailure(
  attempt: number,
  retryable: boolean,
  now: Date,
  opts: { initialMs: number; maxMs: number; maxAttempts: number },
): { retryAt: Date } | { giveUp: true } {
  if (!retryable || attempt >= opts.maxAttempts) return { giveUp: true };
  return { retryAt: new Date(now.getTime() + retryDelayMs(attempt, opts)) };
}
