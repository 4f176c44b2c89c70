import { collectDefaultMetrics, Gauge, Histogram, type Registry } from 'prom-client';
import type { Sampler, Snapshot } from '../sampling/sampler';

/**
 * Prometheus gauges that read the latest snapshot when scraped. A scrape
 * never samples the host: it reports what the background loop last saw.
 */
export function registerHostMetrics(registry: Registry, sampler: Sampler): void {
  // The event-loop lag monitor samples every 10 ms by default: alone about
  // 0.5 % of a core on an idle agent. 100 ms resolution is plenty here.
  collectDefaultMetrics({ register: registry, prefix: 'viworks_agent_', eventLoopMonitoringPrecision: 100 });
  const snap = () => sampler.latest();
  const registers = [registry];

  /** A gauge whose value is read from the latest snapshot at scrape time (absent before the first sample). */
  const gauge = (name: string, help: string, read: (s: Snapshot) => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        const s = snap();
        if (s) this.set(read(s));
      },
    });
  /** One series per entry; reset first so that vanished entries (an interface, a service) vanish too. */
  const perEntry = (name: string, help: string, label: string, entries: (s: Snapshot) => Array<[string, number | null]>) =>
    new Gauge({
      name,
      help,
      labelNames: [label],
      registers,
      collect() {
        const s = snap();
        if (!s) return;
        this.reset();
        for (const [key, value] of entries(s)) if (value !== null) this.set({ [label]: key }, value);
      },
    });

  gauge('viworks_host_cpu_usage_percent', 'CPU utilisation of the host, percent of all cores', (s) => s.status.system.cpu_usage_percent);
  gauge('viworks_host_memory_usage_percent', 'Memory in use (total - available), percent', (s) => s.status.system.memory_usage_percent);
  gauge('viworks_host_memory_total_bytes', 'Installed memory', (s) => s.memoryTotalBytes);
  gauge('viworks_host_load1', 'Load average (one minute)', (s) => s.status.system.load_average.one_minute);
  gauge('viworks_host_load5', 'Load average (five minutes)', (s) => s.status.system.load_average.five_minutes);
  gauge('viworks_host_load15', 'Load average (fifteen minutes)', (s) => s.status.system.load_average.fifteen_minutes);
  gauge('viworks_host_uptime_seconds', 'Seconds since the host booted', (s) => s.status.system.uptime_seconds);
  gauge('viworks_agent_last_sample_timestamp_seconds', 'When the latest sample was taken (Unix time)', (s) => Date.parse(s.status.timestamp) / 1000);
  // A label, so that a host without a sensor has no series instead of a fake 0 °C.
  perEntry('viworks_host_temperature_celsius', 'CPU temperature, absent where the host has no sensor', 'sensor', (s) => [['cpu', s.status.system.temperature]]);
  perEntry('viworks_host_disk_usage_percent', 'Filesystem usage by mount point, percent', 'mount', (s) => s.system.disks.map((d) => [d.mount, d.usage_percent]));
  perEntry('viworks_host_network_receive_bytes', 'Bytes received since boot, by interface', 'interface', (s) =>
    s.system.network.interface_stats.map((i) => [i.name, i.bytes_received]),
  );
  perEntry('viworks_host_network_transmit_bytes', 'Bytes sent since boot, by interface', 'interface', (s) =>
    s.system.network.interface_stats.map((i) => [i.name, i.bytes_sent]),
  );
  perEntry('viworks_service_up', '1 when the service is running, 0 otherwise', 'service', (s) =>
    s.status.services.map((svc) => [svc.name, svc.status === 'running' ? 1 : 0]),
  );
  perEntry('viworks_service_cpu_percent', 'CPU used by all processes of the service, percent of one core', 'service', (s) =>
    s.status.services.map((svc) => [svc.name, svc.cpu_percent]),
  );
  perEntry('viworks_service_memory_bytes', 'Resident memory of all processes of the service', 'service', (s) =>
    s.status.services.map((svc) => [svc.name, svc.memory_bytes]),
  );
  const sampleDuration = new Histogram({
    name: 'viworks_agent_sample_duration_seconds',
    help: 'Time taken to sample the host',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers,
  });
  sampler.onSample((s) => sampleDuration.observe(s.durationSeconds));
}
