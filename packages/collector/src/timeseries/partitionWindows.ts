import { DAY } from './time';

/**
 * Daily range partitions of the plain-PostgreSQL store: which to create ahead
 * and which retention may drop. Pure, so both are tested with a fixed clock.
 */
export interface PartitionRange {
  readonly name: string;
  /** Inclusive lower bound (UTC midnight). */
  readonly from: Date;
  /** Exclusive upper bound (the next UTC midnight). */
  readonly to: Date;
}

export function dayStart(t: Date): Date {
  return new Date(Math.floor(t.getTime() / DAY) * DAY);
}

/** agent_metrics + 2025-09-03 → agent_metrics_p20250903. */
export function partitionName(table: string, day: Date): string {
  return `${table}_p${day.toISOString().slice(0, 10).replace(/-/g, '')}`;
}

export function dailyPartition(table: string, day: Date): PartitionRange {
  const from = dayStart(day);
  return { name: partitionName(table, from), from, to: new Date(from.getTime() + DAY) };
}

/**
 * Today's partition and the next `aheadDays` days' that do not exist yet.
 * Past days are never created: their rows (from before partitioning, or a
 * collector that was down) stay in the default partition, which retention
 * prunes by DELETE.
 */
export function partitionsToCreate(table: string, now: Date, aheadDays: number, existing: readonly string[]): PartitionRange[] {
  const have = new Set(existing);
  const today = dayStart(now).getTime();
  const out: PartitionRange[] = [];
  for (let i = 0; i <= aheadDays; i++) {
    const p = dailyPartition(table, new Date(today + i * DAY));
    if (!have.has(p.name)) out.push(p);
  }
  return out;
}

/**
 * The partitions wholly older than the cutoff: every row in them is past the
 * retention window. A partition that straddles the cutoff is kept whole until
 * the next day, so a row lives between N and N + 1 days.
 */
export function partitionsToDrop<P extends { from: Date | null; to: Date | null }>(partitions: readonly P[], cutoff: Date): P[] {
  return partitions.filter((p) => p.to !== null && p.to.getTime() <= cutoff.getTime());
}
