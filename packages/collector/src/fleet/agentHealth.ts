import { backoffDelayMs, type BackoffPolicy } from './backoff';

/** What the collector remembers about one agent between ticks (in memory; the agents table mirrors it). */
export interface AgentHealthState {
  failures: number;
  /** Epoch ms before which a failing agent is not polled again. */
  nextAttemptAt: number;
  /** Newest metric sample stored for the agent (epoch ms), if known. */
  lastSampleTs: number | null;
  /** lastSampleTs was read from the database (or set by a poll). */
  lastLoaded: boolean;
  /** Gaps still to backfill (a failed or unfinished backfill): samples strictly between from and to. */
  gaps: Array<{ from: number; to: number }>;
}

export interface HealthUpdate {
  agentId: string;
  state: 'ok' | 'unreachable';
  reason: string | null;
  failures: number;
  nextAttemptAt: Date | null;
  clockSkewMs: number | null;
}

/**
 * Per-agent failure count and backoff. A failure schedules the next attempt
 * (capped, jittered exponential); the next success clears it. Agents that are
 * waiting out their backoff are skipped by the tier, so a dead agent costs one
 * timeout per backoff period instead of one per tick.
 */
export class AgentHealth {
  private readonly states = new Map<string, AgentHealthState>();

  constructor(
    private readonly policy: BackoffPolicy,
    private readonly random: () => number = Math.random,
  ) {}

  get(id: string): AgentHealthState {
    let s = this.states.get(id);
    if (!s) {
      s = { failures: 0, nextAttemptAt: 0, lastSampleTs: null, lastLoaded: false, gaps: [] };
      this.states.set(id, s);
    }
    return s;
  }

  has(id: string): boolean {
    return this.states.has(id);
  }

  forget(id: string): void {
    this.states.delete(id);
  }

  /** False while the agent waits out its backoff. */
  due(id: string, now: number): boolean {
    const s = this.states.get(id);
    return !s || s.failures === 0 || this.policy.maxMs <= 0 || now >= s.nextAttemptAt;
  }

  succeeded(id: string, clockSkewMs: number | null): HealthUpdate {
    const s = this.get(id);
    s.failures = 0;
    s.nextAttemptAt = 0;
    return { agentId: id, state: 'ok', reason: null, failures: 0, nextAttemptAt: null, clockSkewMs };
  }

  failed(id: string, reason: string, now: number, clockSkewMs: number | null = null): HealthUpdate {
    const s = this.get(id);
    s.failures += 1;
    const delay = this.policy.maxMs > 0 ? backoffDelayMs(s.failures, this.policy, this.random) : 0;
    s.nextAttemptAt = now + delay;
    return {
      agentId: id,
      state: 'unreachable',
      reason,
      failures: s.failures,
      nextAttemptAt: delay > 0 ? new Date(s.nextAttemptAt) : null,
      clockSkewMs,
    };
  }

  /** Agents currently waiting out a backoff. */
  unreachableCount(): number {
    let n = 0;
    for (const s of this.states.values()) if (s.failures > 0) n++;
    return n;
  }
}
