import Docker from 'dockerode';
import pino from 'pino';
import { Registry } from 'prom-client';
import { NO_AUDIT } from '../src/http/auditSink';
import { createApp, type SecurityOptions } from '../src/http/createApp';
import { KeyStore } from '../src/security/keyStore';
import { registerHostMetrics } from '../src/http/hostMetrics';
import { createSampler, type Sampler } from '../src/sampling/sampler';
import { DEFAULT_SERVICES, type ServiceDefinition } from '../src/sampling/serviceCatalogue';

export const silent = pino({ level: 'silent' });

/** Development mode (no credentials needed): for tests about data, not security. */
export const openSecurity = (over: Partial<SecurityOptions> = {}): SecurityOptions => ({
  keys: new KeyStore([]),
  jwt: null,
  insecureNoAuth: true,
  allowedIps: [],
  trustedProxies: [],
  rateLimitPerMinute: 100_000,
  bodyLimitBytes: 64 * 1024,
  ...over,
});

/** A real agent on the live host: real sampler, real registry, no listening socket. */
export async function liveAgent(services: readonly ServiceDefinition[] = DEFAULT_SERVICES) {
  const sampler: Sampler = createSampler({
    config: { agentId: 'test-agent', sampleIntervalMs: 60_000, inventoryIntervalMs: 60_000, diskMount: '/', services },
    docker: new Docker({ socketPath: '/nonexistent/docker.sock' }),
    logger: silent,
  });
  const registry = new Registry();
  registerHostMetrics(registry, sampler);
  await sampler.sampleNow();
  const app = createApp({ sampler, registry, logger: silent, version: '0.1.0', startedAt: new Date(Date.now() - 5000), security: openSecurity(), audit: NO_AUDIT });
  return { sampler, registry, app };
}
