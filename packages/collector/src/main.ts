#!/usr/bin/env node
import http from 'node:http';
import cron from 'node-cron';
import pino from 'pino';
import { ConfigError, loadConfig } from './config';
import { createCollector } from './createCollector';
import { createApp } from './http/createApp';
import { schedulePeriodSeconds } from './polling/scheduler';
import { openStore } from './openStore';
import { COLLECTOR_VERSION } from './version';

async function main() {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`viworks-collector: ${err.message}`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
  const logger = pino({ name: 'viworks-collector', level: config.logLevel });
  cron.setLogger({
    info: (m) => logger.debug(m),
    warn: (m) => logger.warn(m),
    error: (m, err) => logger.error({ err }, String(m)),
    debug: (m) => logger.trace(String(m)),
  });
  const db = await openStore(config);
  logger.info({ store: db.kind, dataDir: db.kind === 'pglite' ? config.dataDir : undefined }, 'store opened');
  const collector = createCollector({ config, db, logger });
  await collector.start();
  if (config.agents.length === 0) logger.warn('no agents configured: set COLLECTOR_AGENTS or COLLECTOR_AGENTS_FILE');
  if (config.alerting) {
    const { rules, notify } = config.alerting;
    logger.info({ rules: rules.names, receivers: notify.receivers.map((r) => `${r.name} (${r.type})`) }, 'alerting configured');
    if (notify.receivers.length === 0) logger.warn('no alert receivers: alerts and incidents are recorded, nothing is sent (set COLLECTOR_RECEIVERS_FILE)');
  }

  const app = createApp({
    db,
    registry: collector.registry,
    logger,
    version: COLLECTOR_VERSION,
    agentRegistry: collector.fleet.registry,
    // Service downtime is counted in samples: each stands for one services-tier period.
    servicesIntervalSeconds: schedulePeriodSeconds(config.schedules.services),
  });
  const server = http.createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, resolve);
  });
  const addr = server.address();
  const where = typeof addr === 'object' && addr ? `http://${addr.address}:${addr.port}` : String(addr);
  logger.info({ url: where, agents: config.agents.map((a) => a.id) }, `viworks-collector listening on ${where}`);

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'shutting down');
    server.close();
    server.closeIdleConnections();
    await collector.stop();
    await db.close();
    process.exit(0);
  };
  // SIGHUP: re-read COLLECTOR_AGENTS / COLLECTOR_AGENTS_FILE; config agents follow it, no restart.
  process.on('SIGHUP', () => {
    let agents;
    try {
      agents = loadConfig(process.env).agents;
    } catch (err) {
      logger.error({ err: (err as Error).message }, 'reload refused: the running agent list is kept');
      return;
    }
    collector.fleet.registry
      .reloadConfig(agents)
      .then((r) => logger.info(r, 'agents reloaded'))
      .catch((err) => logger.error({ err }, 'agent reload failed'));
  });
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((err) => {
  console.error('viworks-collector failed to start:', err);
  process.exit(1);
});
