/** What cleanup needs to know of a session container. */
export interface SessionTimes {
  readonly id: string;
  readonly sessionId: string | null;
  /** Docker state: created, running, paused, restarting, removing, exited, dead. */
  readonly state: string;
  readonly createdAt: Date;
  readonly startedAt: Date | null;
  readonly finishedAt: Date | null;
}

export interface ExpiryRules {
  /** Lifetime: a session created this long ago goes, whatever its state. */
  readonly ttlMs: number;
  /** A session stopped (or never started) for this long goes. */
  readonly exitedTtlMs: number;
  /**
   * Also remove sessions that were created but never started. Only at agent
   * start, when no spawn of ours can be between its create and its start: such
   * a container is what a crash mid-spawn leaves behind.
   */
  readonly removeUnstarted: boolean;
}

export type ExpiryReason = 'ttl' | 'exited_ttl' | 'unstarted';

const STOPPED = new Set(['exited', 'dead', 'created']);

/**
 * Pure: which sessions cleanup removes, and why. The agent cannot see user
 * activity inside a session, so "idle" is judged by age: a running session is
 * kept until its lifetime TTL, a stopped one until the exited TTL.
 */
export function selectExpired(sessions: readonly SessionTimes[], rules: ExpiryRules, now: Date): Array<{ session: SessionTimes; reason: ExpiryReason }> {
  const t = now.getTime();
  const out: Array<{ session: SessionTimes; reason: ExpiryReason }> = [];
  for (const s of sessions) {
    if (s.state === 'removing') continue; // already on its way out
    if (t - s.createdAt.getTime() >= rules.ttlMs) {
      out.push({ session: s, reason: 'ttl' });
      continue;
    }
    if (!STOPPED.has(s.state)) continue;
    if (s.state === 'created' && s.startedAt === null && rules.removeUnstarted) {
      out.push({ session: s, reason: 'unstarted' });
      continue;
    }
    const stoppedSince = s.finishedAt ?? s.createdAt;
    if (t - stoppedSince.getTime() >= rules.exitedTtlMs) out.push({ session: s, reason: 'exited_ttl' });
  }
  return out;
}
