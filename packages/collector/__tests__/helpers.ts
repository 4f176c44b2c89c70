import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CollectorConfig } from '../src/config';

export const baseConfig = (over: Partial<CollectorConfig> = {}): CollectorConfig => ({
  databaseUrl: null,
  dataDir: '/tmp/unused',
  host: '127.0.0.1',
  port: 0,
  agents: [],
  schedules: { metrics: '*/30 * * * * *', services: '0 */5 * * * *', inventory: '0 0 * * * *' },
  retentionSchedule: '0 17 * * * *',
  retentionDays: 30,
  pollTimeoutMs: 1000,
  pollConcurrency: 16,
  maxBodyBytes: 1024 * 1024,
  pollOnStart: false,
  logLevel: 'silent',
  ...over,
});

/** Listens on an ephemeral loopback port; returns the base URL and a closer. */
export async function listen(handler: http.RequestListener | http.Server): Promise<{ url: string; close(): Promise<void>; server: http.Server }> {
  const server = handler instanceof http.Server ? handler : http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
