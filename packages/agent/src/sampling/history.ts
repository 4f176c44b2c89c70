import type { HistorySample } from '@viworks/protocol';

/**
 * The last N samples' system metrics, oldest first, in a fixed ring: the
 * memory cost is capacity × one small object (≈ 1 MB for 6 h at 5 s), and a
 * collector that was away can fetch what it missed.
 */
export class SampleHistory {
  private readonly ring: Array<HistorySample | undefined>;
  private start = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity must be a positive integer');
    this.ring = new Array(capacity);
  }

  get size(): number {
    return this.count;
  }

  push(sample: HistorySample): void {
    const last = this.count ? this.at(this.count - 1) : undefined;
    // Samples are appended in time order; a repeat of the same sample is ignored.
    if (last && Date.parse(sample.timestamp) <= Date.parse(last.timestamp)) return;
    if (this.count < this.capacity) {
      this.ring[(this.start + this.count) % this.capacity] = sample;
      this.count++;
    } else {
      this.ring[this.start] = sample;
      this.start = (this.start + 1) % this.capacity;
    }
  }

  oldest(): HistorySample | null {
    return this.count ? this.at(0)! : null;
  }

  /** Samples strictly after `since`, oldest first, at most `limit`; and whether more follow. */
  after(since: Date, limit: number): { samples: HistorySample[]; more: boolean } {
    const t = since.getTime();
    // Binary search: the ring is sorted by time.
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (Date.parse(this.at(mid)!.timestamp) <= t) lo = mid + 1;
      else hi = mid;
    }
    const end = Math.min(this.count, lo + limit);
    const samples: HistorySample[] = [];
    for (let i = lo; i < end; i++) samples.push(this.at(i)!);
    return { samples, more: end < this.count };
  }

  private at(i: number): HistorySample | undefined {
    return this.ring[(this.start + i) % this.capacity];
  }
}
