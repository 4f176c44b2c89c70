import { z } from 'zod';
// Importing the module registers every schema (a side effect of .meta({ id }))
// in zod's global registry, from which components() builds the document; the
// list is not repeated here, so a new schema cannot be left out of it.
import './schemas';

/**
 * The agent's OpenAPI 3.1 document, generated from the same zod schemas that
 * validate the wire, so the document cannot drift from the code.
 */

type Json = Record<string, unknown>;

const registry = z.globalRegistry;

function components(): Record<string, Json> {
  const { schemas } = z.toJSONSchema(registry, {
    target: 'draft-2020-12',
    uri: (id) => `#/components/schemas/${id}`,
    io: 'output',
  });
  const out: Record<string, Json> = {};
  for (const [id, schema] of Object.entries(schemas)) {
    const { $schema: _s, $id: _i, ...rest } = schema as Json;
    out[id] = rest;
  }
  return out;
}

const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });
const json = (id: string, description: string) => ({
  description,
  content: { 'application/json': { schema: ref(id) } },
});
const errors = {
  '404': json('ErrorBody', 'no such route'),
  '503': json('ErrorBody', 'the agent has no sample yet'),
};
const bad = { '400': json('ErrorBody', 'invalid input; the message names the field') };

const dockerDown = { '503': json('ErrorBody', 'docker_unavailable: the Docker engine is not answering; or audit_unavailable') };
const sessionRef = [{ name: 'id', in: 'path', required: true, schema: { type: 'string' }, description: 'container id, id prefix (12+ hex) or session id' }];
const refErrors = {
  '400': json('ErrorBody', 'invalid_id'),
  '403': json('ErrorBody', 'not_managed: a container this agent did not create; or the address or credential is not allowed'),
  '404': json('ErrorBody', 'not_found: no such session'),
};

const auth = {
  '401': json('ErrorBody', 'no credential, or one that does not verify'),
  '403': json('ErrorBody', 'address not allowed, or the credential lacks the role'),
  '429': json('ErrorBody', 'rate limit exceeded (see Retry-After)'),
};
const secured = [{ apiKey: [] }, { bearer: [] }];

export function agentOpenApiDocument(version: string): Json {
  return {
    openapi: '3.1.0',
    info: {
      title: 'ViWorks OS Agent API',
      version,
      description: 'Host status, services and containers of one server, sampled in the background.',
    },
    paths: {
      '/api/v1/health': {
        get: {
          operationId: 'getHealth',
          summary: 'Liveness for load balancers',
          responses: { '200': json('HealthResponse', 'the agent is up') },
        },
      },
      '/api/v1/status': {
        get: {
          operationId: 'getStatus',
          summary: 'Latest sample: system metrics, services, containers',
          security: secured,
          responses: { '200': json('StatusResponse', 'the latest sample'), ...errors, ...auth },
        },
      },
      '/api/v1/status-simple': {
        get: {
          operationId: 'getStatusSimple',
          summary: 'Lightweight health indicators',
          security: secured,
          responses: { '200': json('StatusSimpleResponse', 'overall health and headline figures'), ...errors, ...auth },
        },
      },
      '/api/v1/system': {
        get: {
          operationId: 'getSystem',
          summary: 'Hardware, OS, disks and network inventory',
          security: secured,
          responses: { '200': json('SystemInfoResponse', 'the latest inventory'), ...errors, ...auth },
        },
      },
      '/metrics': {
        get: {
          operationId: 'getMetrics',
          summary: 'Prometheus exposition',
          responses: { '200': { description: 'text/plain; version=0.0.4', content: { 'text/plain': { schema: { type: 'string' } } } } },
        },
      },
      '/api/v1/metrics/history': {
        get: {
          operationId: 'getMetricsHistory',
          summary: 'Recent samples (default 6 h), for a collector filling a gap',
          security: secured,
          parameters: [
            { name: 'since', in: 'query', required: true, schema: { type: 'string', format: 'date-time' } },
            { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 2000 } },
          ],
          responses: { '200': json('MetricsHistoryResponse', 'a page of samples after since'), ...bad, ...errors, ...auth },
        },
      },
      '/api/v1/command': {
        post: {
          operationId: 'runCommand',
          summary: 'Run a named command from the catalogue (role admin). Never a shell.',
          security: secured,
          requestBody: { required: true, content: { 'application/json': { schema: ref('CommandRequest') } } },
          responses: {
            '200': json('CommandResult', 'it ran: completed, failed (non-zero exit) or timed_out'),
            '400': json('CommandRejection', 'unknown command or invalid params: nothing ran'),
            ...auth,
            '503': json('ErrorBody', 'the audit log cannot be written, so nothing runs'),
          },
        },
      },
      '/api/v1/commands': {
        get: { operationId: 'listCommands', summary: 'The command catalogue with parameter specs and roles', security: secured, responses: { '200': { description: 'catalogue' }, ...auth } },
      },
      '/api/v1/services/{name}/{action}': {
        post: {
          operationId: 'controlService',
          summary: 'Start, stop or restart an allow-listed service (role operator)',
          security: secured,
          parameters: [
            { name: 'name', in: 'path', required: true, schema: { type: 'string' } },
            { name: 'action', in: 'path', required: true, schema: { type: 'string', enum: ['start', 'stop', 'restart'] } },
          ],
          responses: { '200': json('CommandResult', 'the action ran'), '400': json('CommandRejection', 'not allowed'), ...auth },
        },
      },
      '/api/v1/logs': {
        get: {
          operationId: 'tailLog',
          summary: 'Last lines of an allow-listed log file (role operator)',
          security: secured,
          parameters: [
            { name: 'file', in: 'query', required: true, schema: { type: 'string' } },
            { name: 'lines', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 5000 } },
          ],
          responses: { '200': json('CommandResult', 'the lines, in stdout'), '400': json('CommandRejection', 'path not allowed'), ...auth },
        },
      },
      '/api/v1/logs/stream': {
        get: {
          operationId: 'followLog',
          summary: 'Follow a log file as Server-Sent Events (role operator)',
          security: secured,
          parameters: [{ name: 'file', in: 'query', required: true, schema: { type: 'string' } }],
          responses: { '200': { description: 'text/event-stream, one event per line' }, ...bad, ...auth },
        },
      },
      '/api/v1/audit': {
        get: {
          operationId: 'readAudit',
          summary: 'Page through the hash-chained audit log (role admin)',
          security: secured,
          parameters: [
            { name: 'after', in: 'query', schema: { type: 'integer', minimum: 0 } },
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000 } },
          ],
          responses: { '200': { description: '{ entries, next_after }' }, ...bad, ...auth },
        },
      },
      '/api/v1/containers': {
        get: {
          operationId: 'listSessions',
          summary: "This agent's session containers, live from the engine (role viewer)",
          security: secured,
          responses: { '200': json('SessionList', 'sessions with ports, state, times, limits, memory and CPU'), ...auth, ...dockerDown },
        },
        post: {
          operationId: 'spawnSession',
          summary: 'Spawn a hardened session container from an allow-listed image (role operator)',
          security: secured,
          requestBody: { required: true, content: { 'application/json': { schema: ref('SessionRequest') } } },
          responses: {
            '201': json('ContainerInfo', 'created and running; Location names it'),
            '400': json('ErrorBody', 'invalid_body, image_not_allowed, image_unavailable or limit_out_of_range: nothing was created'),
            '409': json('ErrorBody', 'session_exists, session_limit, port_pool_exhausted or port_in_use: nothing was created'),
            ...auth,
            ...dockerDown,
          },
        },
      },
      '/api/v1/containers/cleanup': {
        post: {
          operationId: 'cleanupSessions',
          summary: 'Remove sessions past their TTL, or stopped past the exited TTL (role operator)',
          security: secured,
          requestBody: { required: false, content: { 'application/json': { schema: ref('CleanupRequest') } } },
          responses: { '200': json('CleanupResult', 'what was removed and kept'), ...bad, ...auth, ...dockerDown },
        },
      },
      '/api/v1/containers/{id}/stop': {
        post: {
          operationId: 'stopSession',
          summary: 'Stop a session (SIGTERM, then SIGKILL after AGENT_SESSION_STOP_TIMEOUT_SECONDS); its ports stay held (role operator)',
          security: secured,
          parameters: sessionRef,
          responses: { '200': json('ContainerInfo', 'stopped (or already was)'), ...auth, ...refErrors, ...dockerDown },
        },
      },
      '/api/v1/containers/{id}/start': {
        post: {
          operationId: 'startSession',
          summary: 'Start a stopped session again on its ports (role operator)',
          security: secured,
          parameters: sessionRef,
          responses: { '200': json('ContainerInfo', 'running (or already was)'), ...auth, ...refErrors, '409': json('ErrorBody', 'port_in_use'), ...dockerDown },
        },
      },
      '/api/v1/containers/{id}': {
        delete: {
          operationId: 'removeSession',
          summary: 'Remove a session, running or not (role operator)',
          security: secured,
          parameters: sessionRef,
          responses: { '200': { description: '{ id, session_id, removed: true }' }, ...auth, ...refErrors, ...dockerDown },
        },
      },
      '/api/v1/openapi.json': {
        get: {
          operationId: 'getOpenApi',
          summary: 'This document',
          responses: { '200': { description: 'OpenAPI 3.1 document', content: { 'application/json': { schema: { type: 'object' } } } } },
        },
      },
    },
    components: {
      schemas: components(),
      securitySchemes: {
        apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
        bearer: { type: 'http', scheme: 'bearer', description: 'an API key, or a JWT with a role claim' },
      },
    },
  };
}
