#!/usr/bin/env node
import './memoryFlags';
import pino from 'pino';
import { Registry } from 'prom-client';
import { openAuditLog } from './audit/auditLog';
import { ConfigError, loadConfig, type AgentConfig } from './config';
import { createCatalogue } from './commands/catalogue';
import { cleanupAndAudit, startCleanupLoop } from './containers/cleanupLoop';
import { SessionError } from './containers/sessionError';
import { createSessionManager } from './containers/sessionManager';
import { loadCommandsConfig, resolveRunAs } from './commandsConfig';
import { sideAudit } from './http/auditSink';
import { createApp } from './http/createApp';
import { adminRoutes } from './http/routes/admin';
import { containerRoutes } from './http/routes/containers';
import { registerHostMetrics } from './http/hostMetrics';
import { createServer } from './http/server';
import { createDockerClient } from './sampling/dockerClient';
import { createSampler } from './sampling/sampler';
import { KeyStore, readKeyFile, watchKeyFile } from './security/keyStore';
import { AGENT_VERSION } from './version';

function configOrExit() {
  try {
    const config = loadConfig(process.env);
    return { config, commands: loadCommandsConfig(config.commandsFile, config.services), runAs: resolveRunAs(config.runAsUser) };
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`viworks-agent: ${err.message}`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
}

/** Secure by default: no credential configured means no start, unless explicitly told. */
function keysOrExit(config: AgentConfig): KeyStore {
  let entries: ReturnType<typeof readKeyFile> = [];
  if (config.keysFile) {
    try {
      entries = readKeyFile(config.keysFile);
    } catch (err) {
      console.error(`viworks-agent: invalid AGENT_KEYS_FILE ${config.keysFile}: ${(err as Error).message}`);
      process.exit(78);
    }
  }
  if (entries.length === 0 && !config.jwt && !config.insecureNoAuth) {
    console.error(
      'viworks-agent: refusing to start without credentials: set AGENT_KEYS_FILE (create a key with viworks-agent-keygen) ' +
        'or AGENT_JWT_SECRET / AGENT_JWT_PUBLIC_KEY_FILE. For local development only: AGENT_INSECURE_NO_AUTH=true.',
    );
    process.exit(78);
  }
  return new KeyStore(entries);
}

async function main() {
  const { config, commands, runAs } = configOrExit();
  const keys = keysOrExit(config);
  const logger = pino({ name: 'viworks-agent', level: config.logLevel });
  if (config.insecureNoAuth) {
    logger.warn('AGENT_INSECURE_NO_AUTH=true: EVERY CALLER WITHOUT A CREDENTIAL IS ADMIN. Never use this outside local development.');
  }
  if (!['127.0.0.1', '::1', 'localhost'].includes(config.host) && config.allowedIps.length === 0) {
    logger.warn({ host: config.host }, 'listening beyond loopback with no AGENT_ALLOWED_IPS: any address may try a key');
  }
  const keyWatch = config.keysFile ? watchKeyFile(config.keysFile, keys, logger) : null;
  process.on('SIGHUP', () => keyWatch?.reload());

  const audit = await openAuditLog({ dir: config.auditDir, warn: (m) => logger.warn(m) });
  const sideAuditSink = sideAudit(audit, logger);
  const catalogue = createCatalogue({
    services: commands.services,
    logRoots: [...config.logRoots],
    customCommands: commands.customCommands,
    dockerSocket: config.dockerSocket,
  });
  const docker = createDockerClient(config.dockerSocket);
  const sampler = createSampler({ config, docker, logger });
  const registry = new Registry();
  registerHostMetrics(registry, sampler);
  const startedAt = new Date();
  const sessions = createSessionManager({ docker, policy: config.sessions, agentId: config.agentId, dockerSocket: config.dockerSocket, logger });

  // Sessions that outlived their TTL while the agent was down, and containers a
  // crash left between create and start, go before the API opens.
  try {
    const r = await cleanupAndAudit(sessions, audit, { actor: 'agent', ip: '' }, { removeUnstarted: true });
    logger.info({ removed: r.removed.length, kept: r.kept, failed: r.failed.length }, 'session cleanup at start');
  } catch (err) {
    if (err instanceof SessionError && err.code === 'docker_unavailable') logger.info(`no session cleanup at start: ${err.message}`);
    else logger.warn({ err }, 'session cleanup at start failed; the cleanup loop will try again');
  }
  const cleanupLoop = startCleanupLoop(sessions, sideAuditSink, config.sessions.cleanupIntervalSeconds * 1000, logger);

  await sampler.start();
  const app = createApp({
    sampler,
    registry,
    logger,
    version: AGENT_VERSION,
    startedAt,
    audit: sideAuditSink,
    extraRoutes: [
      adminRoutes({
        catalogue,
        audit,
        sideAudit: sideAuditSink,
        logger,
        logRoots: config.logRoots,
        runAs,
        maxOutputBytes: 1024 * 1024,
      }),
      containerRoutes({ manager: sessions, policy: config.sessions, audit, sideAudit: sideAuditSink, logger }),
    ],
    security: {
      keys,
      jwt: config.jwt,
      insecureNoAuth: config.insecureNoAuth,
      allowedIps: config.allowedIps,
      trustedProxies: config.trustedProxies,
      rateLimitPerMinute: config.rateLimitPerMinute,
      bodyLimitBytes: config.bodyLimitBytes,
    },
  });
  const { server, stopWatching } = createServer(app, config.tls, logger);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, resolve);
  });
  const addr = server.address();
  const scheme = config.tls ? 'https' : 'http';
  const where = typeof addr === 'object' && addr ? `${scheme}://${addr.address}:${addr.port}` : String(addr);
  logger.info({ agentId: config.agentId, url: where, version: AGENT_VERSION, keys: keys.size, jwt: Boolean(config.jwt) }, `viworks-agent listening on ${where}`);

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'shutting down');
    server.close();
    server.closeIdleConnections();
    stopWatching();
    keyWatch?.stop();
    await cleanupLoop.stop();
    await sampler.stop();
    await audit.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((err) => {
  console.error('viworks-agent failed to start:', err);
  process.exit(1);
});
