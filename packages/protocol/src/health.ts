import type { OverallHealth, ServiceStatus, SystemMetrics } from './schemas';

/** The spec's performance thresholds: warning / critical. */
export const DEFAULT_THRESHOLDS = {
  cpu: { warning: 80, critical: 95 },
  memory: { warning: 85, critical: 95 },
  disk: { warning: 85, critical: 95 },
  load: { warning: 2, critical: 5 },
} as const;

/**
 * The single word /status-simple answers with. Pure, so both the agent and
 * the dashboard agree on what "degraded" means.
 */
export function evaluateOverallHealth(
  system: SystemMetrics,
  services: readonly ServiceStatus[],
  thresholds = DEFAULT_THRESHOLDS,
): OverallHealth {
  const values: Array<[number, { warning: number; critical: number }]> = [
    [system.cpu_usage_percent, thresholds.cpu],
    [system.memory_usage_percent, thresholds.memory],
    [system.disk_usage_percent, thresholds.disk],
    [system.load_average.one_minute, thresholds.load],
  ];
  if (values.some(([v, t]) => v >= t.critical)) return 'critical';
  const down = services.some((s) => s.status !== 'running');
  if (down || values.some(([v, t]) => v >= t.warning)) return 'degraded';
  return 'healthy';
}
