import { z } from 'zod';
import {
  ErrorBody,
  HealthResponse,
  StatusResponse,
  StatusSimpleResponse,
  SystemInfoResponse,
} from './schemas';

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

// Referencing the schemas here keeps their registration (a side effect of
// .meta({ id })) from being tree-shaken or forgotten.
export const agentSchemas = { ErrorBody, HealthResponse, StatusResponse, StatusSimpleResponse, SystemInfoResponse };

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
          responses: { '200': json('StatusResponse', 'the latest sample'), ...errors },
        },
      },
      '/api/v1/status-simple': {
        get: {
          operationId: 'getStatusSimple',
          summary: 'Lightweight health indicators',
          responses: { '200': json('StatusSimpleResponse', 'overall health and headline figures'), ...errors },
        },
      },
      '/api/v1/system': {
        get: {
          operationId: 'getSystem',
          summary: 'Hardware, OS, disks and network inventory',
          responses: { '200': json('SystemInfoResponse', 'the latest inventory'), ...errors },
        },
      },
      '/metrics': {
        get: {
          operationId: 'getMetrics',
          summary: 'Prometheus exposition',
          responses: { '200': { description: 'text/plain; version=0.0.4', content: { 'text/plain': { schema: { type: 'string' } } } } },
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
    components: { schemas: components() },
  };
}
