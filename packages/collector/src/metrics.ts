import { collectDefaultMetrics, Counter, Histogram, type Registry } from 'prom-client';

export interface CollectorMetrics {
  polls: Counter<'tier' | 'result'>;
  pollDuration: Histogram<'tier'>;
  rowsWritten: Counter<'table'>;
  tickLateness: Histogram<'tier'>;
  tickDuration: Histogram<'tier'>;
  writeFailures: Counter<'tier'>;
}

/** The collector's own metrics, on an injected registry. */
export function createCollectorMetrics(registry: Registry): CollectorMetrics {
  collectDefaultMetrics({ register: registry, prefix: 'viworks_collector_' });
  const registers = [registry];
  return {
    polls: new Counter({
      name: 'viworks_collector_polls_total',
      help: 'Agent polls by tier and result (ok, or the error code)',
      labelNames: ['tier', 'result'],
      registers,
    }),
    pollDuration: new Histogram({
      name: 'viworks_collector_poll_duration_seconds',
      help: 'Time to fetch and validate one agent endpoint',
      labelNames: ['tier'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    rowsWritten: new Counter({
      name: 'viworks_collector_rows_written_total',
      help: 'Rows inserted, by table',
      labelNames: ['table'],
      registers,
    }),
    tickLateness: new Histogram({
      name: 'viworks_collector_tick_lateness_seconds',
      help: 'How late a tier tick started after its scheduled time',
      labelNames: ['tier'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
      registers,
    }),
    tickDuration: new Histogram({
      name: 'viworks_collector_tick_duration_seconds',
      help: 'Time to poll every agent of a tier and write the batch',
      labelNames: ['tier'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
    writeFailures: new Counter({
      name: 'viworks_collector_write_failures_total',
      help: 'Tier batches the database refused',
      labelNames: ['tier'],
      registers,
    }),
  };
}
