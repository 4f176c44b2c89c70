import { collectDefaultMetrics, Gauge, Histogram, type Registry } from 'prom-client';
import type { Sampler } from '../sampling/sampler';

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

  new Gauge({
    name: 'viworks_host_cpu_usage_percent',
    help: 'CPU utilisation of the host, percent of all cores',
    registers,
    collect() {
      const s = snap();
      if (s) this.set(s.status.system.cpu_usage_percent);
    },
  });
  new Gauge({
    name: 'viworks_host_memory_usage_percent',
    help: 'Memory in use (total - available), percent',
    registers,
    collect() {
      const s = snap();
      if (s) this.set(s.status.system.memory_usage_percent);
    },
  });
  new Gauge({
    name: 'viworks_host_memory_total_bytes',
    help: 'Installed memory',
    registers,
    collect() {
      const s = snap();
      if (s) this.set(s.memoryTotalBytes);
    },
  });
  new Gauge({
    name: 'viworks_host_disk_usage_percent',
    help: 'Filesystem usage by mount point, percent',
    labelNames: ['mount'],
    registers,
    collect() {
      const s = snap();
      if (!s) return;
      this.reset();
      for (const d of s.system.disks) this.set({ mount: d.mount }, d.usage_percent);
    },
  });
  for (const [name, key] of [
    ['viworks_host_load1', 'one_minute'],
    ['viworks_host_load5', 'five_minutes'],
    ['viworks_host_load15', 'fifteen_minutes'],
  ] as const) {
    new Gauge({
      name,
      help: `Load average (${key.replace('_', ' ')})`,
      registers,
      collect() {
        const s = snap();
        if (s) this.set(s.status.system.load_average[key]);
      },
    });
  }
  new Gauge({
    name: 'viworks_host_uptime_seconds',
    help: 'Seconds since the host booted',
    registers,
    collect() {
      const s = snap();
      if (s) this.set(s.status.system.uptime_seconds);
    },
  });
  new Gauge({
    name: 'viworks_host_temperature_celsius',
    help: 'CPU temperature, absent where the host has no sensor',
    // A label, so that reset() removes the series instead of reporting 0 °C.
    labelNames: ['sensor'],
    registers,
    collect() {
      this.reset();
      const t = snap()?.status.system.temperature;
      if (typeof t === 'number') this.set({ sensor: 'cpu' }, t);
    },
  });
  new Gauge({
    name: 'viworks_host_network_receive_bytes',
    help: 'Bytes received since boot, by interface',
    labelNames: ['interface'],
    registers,
    collect() {
      const s = snap();
      if (!s) return;
      this.reset();
      for (const i of s.system.network.interface_stats) this.set({ interface: i.name }, i.bytes_received);
    },
  });
  new Gauge({
    name: 'viworks_host_network_transmit_bytes',
    help: 'Bytes sent since boot, by interface',
    labelNames: ['interface'],
    registers,
    collect() {
      const s = snap();
      if (!s) return;
      this.reset();
      for (const i of s.system.network.interface_stats) this.set({ interface: i.name }, i.bytes_sent);
    },
  });
  new Gauge({
    name: 'viworks_service_up',
    help: '1 when the service is running, 0 otherwise',
    labelNames: ['service'],
    registers,
    collect() {
      const s = snap();
      if (!s) return;
      this.reset();
      for (const svc of s.status.services) this.set({ service: svc.name }, svc.status === 'running' ? 1 : 0);
    },
  });
  new Gauge({
    name: 'viworks_service_cpu_percent',
    help: 'CPU used by all processes of the service, percent of one core',
    labelNames: ['service'],
    registers,
    collect() {
      const s = snap();
      if (!s) return;
      this.reset();
      for (const svc of s.status.services) if (svc.cpu_percent !== null) this.set({ service: svc.name }, svc.cpu_percent);
    },
  });
  new Gauge({
    name: 'viworks_service_memory_bytes',
    help: 'Resident memory of all processes of the service',
    labelNames: ['service'],
    registers,
    collect() {
      const s = snap();
      if (!s) return;
      this.reset();
      for (const svc of s.status.services) if (svc.memory_bytes !== null) this.set({ service: svc.name }, svc.memory_bytes);
    },
  });
  new Gauge({
    name: 'viworks_agent_last_sample_timestamp_seconds',
    help: 'When the latest sample was taken (Unix time)',
    registers,
    collect() {
      const s = snap();
      if (s) this.set(Date.parse(s.status.timestamp) / 1000);
    },
  });
  const sampleDuration = new Histogram({
    name: 'viworks_agent_sample_duration_seconds',
    help: 'Time taken to sample the host',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers,
  });
  sampler.onSample((s) => sampleDuration.observe(s.durationSeconds));
}
