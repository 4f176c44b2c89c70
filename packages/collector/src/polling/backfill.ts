import { MetricsHistoryResponse } from '@viworks/protocol';
import type { AgentTarget } from '../config';
import type { MetricRow } from '../store/metrics';
import type { AgentClient } from './agentClient';
import { historyMetricRow } from './toRows';

export interface Gap {
  /** The newest stored sample before the gap (epoch ms). */
  from: number;
  /** The live sample after the gap (epoch ms). */
  to: number;
}

/**
 * Keeps one sample per tier period, so backfilled density matches live
 * polling: the first sample of each period bucket strictly between the
 * bucket of `from` (already stored) and the bucket of `to` (the live poll).
 */
export function downsample<T extends { timestamp: string }>(samples: readonly T[], gap: Gap, periodMs: number, lastBucket = Math.floor(gap.from / periodMs)): T[] {
  const toBucket = Math.floor(gap.to / periodMs);
  const out: T[] = [];
  let last = lastBucket;
  for (const s of samples) {
    const ts = Date.parse(s.timestamp);
    if (!(ts > gap.from && ts < gap.to)) continue;
    const b = Math.floor(ts / periodMs);
    if (b <= last || b >= toBucket) continue;
    out.push(s);
    last = b;
  }
  return out;
}

export interface BackfillResult {
  rows: MetricRow[];
  /** What is still missing (page budget spent), or null when the gap is closed. */
  remaining: Gap | null;
  /** The agent's history did not reach back to the gap's start. */
  incomplete: boolean;
}

/** Fetches a gap from the agent's history, page by page (bounded), downsampled to the tier period. */
export async function backfillGap(
  client: AgentClient,
  agent: AgentTarget,
  gap: Gap,
  opts: { periodMs: number; maxPages: number; maxFutureMs: number; now: number },
): Promise<BackfillResult> {
  const rows: MetricRow[] = [];
  let since = new Date(gap.from).toISOString();
  let lastBucket = Math.floor(gap.from / opts.periodMs);
  let incomplete = false;
  for (let page = 0; page < opts.maxPages; page++) {
    const res = await client.get(agent, `/api/v1/metrics/history?since=${encodeURIComponent(since)}&limit=500`, MetricsHistoryResponse);
    if (page === 0 && !res.complete) incomplete = true;
    const sane = res.samples.filter((s) => Date.parse(s.timestamp) - opts.now <= opts.maxFutureMs);
    for (const s of downsample(sane, gap, opts.periodMs, lastBucket)) {
      rows.push(historyMetricRow(agent.id, s));
      lastBucket = Math.floor(Date.parse(s.timestamp) / opts.periodMs);
    }
    const newest = res.samples.at(-1);
    if (!res.next_since || !newest || Date.parse(newest.timestamp) >= gap.to) return { rows, remaining: null, incomplete };
    since = res.next_since;
  }
  return { rows, remaining: { from: Date.parse(since), to: gap.to }, incomplete };
}
