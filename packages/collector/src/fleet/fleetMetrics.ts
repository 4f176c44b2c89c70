import { Counter, Gauge, type Registry } from 'prom-client';

export interface FleetMetrics {
  clockSkew: Gauge<'agent'>;
  unreachable: Gauge;
  pollsSkipped: Counter<'tier' | 'reason'>;
  backfilledRows: Counter;
  backfillIncomplete: Counter;
  leasesHeld: Gauge;
  liveCollectors: Gauge;
  spoolBatches: Gauge;
  spoolDropped: Counter;
  queueDepth: Gauge;
}

/** Fleet-scale metrics, on the collector's injected registry. */
export function createFleetMetrics(registry: Registry): FleetMetrics {
  const registers = [registry];
  return {
    clockSkew: new Gauge({
      name: 'viworks_collector_agent_clock_skew_seconds',
      help: "Agent sample time minus collector time at the agent's last poll (includes the sample's age, up to one agent sample interval)",
      labelNames: ['agent'],
      registers,
    }),
    unreachable: new Gauge({ name: 'viworks_collector_agents_unreachable', help: 'Agents whose last poll failed (waiting out their backoff)', registers }),
    pollsSkipped: new Counter({
      name: 'viworks_collector_polls_skipped_total',
      help: 'Polls not attempted, by tier and reason (backoff)',
      labelNames: ['tier', 'reason'],
      registers,
    }),
    backfilledRows: new Counter({ name: 'viworks_collector_backfilled_rows_total', help: 'Metric rows recovered from agent history after a gap', registers }),
    backfillIncomplete: new Counter({
      name: 'viworks_collector_backfill_incomplete_total',
      help: 'Gaps older than the history the agent still held (part of the gap is lost)',
      registers,
    }),
    leasesHeld: new Gauge({ name: 'viworks_collector_leases_held', help: 'Agents this collector holds a lease on', registers }),
    liveCollectors: new Gauge({ name: 'viworks_collector_live_collectors', help: 'Collectors with a fresh heartbeat, at the last lease round', registers }),
    spoolBatches: new Gauge({ name: 'viworks_collector_spool_batches', help: 'Tier batches waiting in the disk spool for the database', registers }),
    spoolDropped: new Counter({ name: 'viworks_collector_spool_dropped_batches_total', help: 'Spooled batches dropped (oldest first) past the spool bound', registers }),
    queueDepth: new Gauge({ name: 'viworks_collector_write_queue_depth', help: 'Tier batches waiting to be written', registers }),
  };
}
