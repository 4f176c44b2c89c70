import type { PortPool } from './policy';

export interface PortAllocation {
  /** One host port per requested container port, in the same order. */
  readonly ports: readonly number[];
  /** Where the next search should start. */
  readonly next: number;
}

/**
 * Pure: picks `count` free host ports from the pool, searching upward from
 * `from` and wrapping round. Starting after the last port handed out (rather
 * than at the lowest free one) keeps a port just freed from going straight to
 * the next user, whose session a stale browser tab would otherwise reach.
 * Returns null when the pool cannot supply them; for an ephemeral pool, zeros
 * (Docker picks).
 */
export function allocatePorts(pool: PortPool, used: ReadonlySet<number>, count: number, from?: number): PortAllocation | null {
  if (pool.kind === 'ephemeral') return { ports: Array.from({ length: count }, () => 0), next: 0 };
  if (count === 0) return { ports: [], next: from ?? pool.first };
  const size = pool.last - pool.first + 1;
  const start = from !== undefined && from >= pool.first && from <= pool.last ? from : pool.first;
  const ports: number[] = [];
  for (let i = 0; i < size && ports.length < count; i++) {
    const p = pool.first + ((start - pool.first + i) % size);
    if (!used.has(p)) ports.push(p);
  }
  if (ports.length < count) return null;
  const last = ports[ports.length - 1]!;
  return { ports, next: last === pool.last ? pool.first : last + 1 };
}

/** How many pool ports are free (for error messages and metrics). */
export function freePorts(pool: PortPool, used: ReadonlySet<number>): number {
  if (pool.kind === 'ephemeral') return Infinity;
  let n = 0;
  for (let p = pool.first; p <= pool.last; p++) if (!used.has(p)) n++;
  return n;
}
