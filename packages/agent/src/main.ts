#!/usr/bin/env node
import http from 'node:http';
import Docker from 'dockerode';
import pino from 'pino';
import { Registry } from 'prom-client';
import { ConfigError, loadConfig } from './config';
import { createApp } from './http/createApp';
import { registerHostMetrics } from './http/hostMetrics';
import { createSampler } from './sampling/sampler';
import { AGENT_VERSION } from './version';

async function main() {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`viworks-agent: ${err.message}`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
  const logger = pino({ name: 'viworks-agent', level: config.logLevel });
  const docker = new Docker({ socketPath: config.dockerSocket });
  const sampler = createSampler({ config, docker, logger });
  const registry = new Registry();
  registerHostMetrics(registry, sampler);
  const startedAt = new Date();

  await sampler.start();
  const app = createApp({ sampler, registry, logger, version: AGENT_VERSION, startedAt });
  const server = http.createServer(app);
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, resolve);
  });
  const addr = server.address();
  const where = typeof addr === 'object' && addr ? `http://${addr.address}:${addr.port}` : String(addr);
  logger.info({ agentId: config.agentId, url: where, version: AGENT_VERSION }, `viworks-agent listening on ${where}`);

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'shutting down');
    server.close();
    server.closeIdleConnections();
    await sampler.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((err) => {
  console.error('viworks-agent failed to start:', err);
  process.exit(1);
});
