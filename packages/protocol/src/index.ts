export * from './schemas';
export { agentOpenApiDocument } from './openapi';
export { evaluateOverallHealth, DEFAULT_THRESHOLDS } from './health';
