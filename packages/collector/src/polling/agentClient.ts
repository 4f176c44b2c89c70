import { Agent, request, type Dispatcher } from 'undici';
import type { z } from 'zod';
import type { AgentTarget } from '../config';

export type PollErrorCode =
  | 'timeout'
  | 'connection_refused'
  | 'network'
  | 'http_status'
  | 'body_too_large'
  | 'invalid_json'
  | 'invalid_body'
  | 'clock_skew';

/** A poll that produced no usable data; `code` says why, for the agent list and metrics. */
export class PollError extends Error {
  override name = 'PollError';
  constructor(
    readonly code: PollErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface AgentClient {
  get<S extends z.ZodType>(agent: AgentTarget, path: string, schema: S): Promise<z.output<S>>;
  close(): Promise<void>;
}

export interface AgentClientOptions {
  timeoutMs: number;
  maxBodyBytes: number;
  dispatcher?: Dispatcher;
}

function describeValidation(err: z.ZodError): string {
  return err.issues
    .slice(0, 3)
    .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
    .join('; ');
}

function networkError(err: unknown): PollError {
  const e = err as { name?: string; code?: string; message?: string; cause?: { code?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError' || e?.code === 'UND_ERR_HEADERS_TIMEOUT' || e?.code === 'UND_ERR_BODY_TIMEOUT') {
    return new PollError('timeout', 'the agent did not answer in time', { cause: err });
  }
  const code = e?.code ?? e?.cause?.code;
  if (code === 'ECONNREFUSED') return new PollError('connection_refused', 'connection refused', { cause: err });
  return new PollError('network', `${code ?? e?.name ?? 'error'}: ${e?.message ?? String(err)}`, { cause: err });
}

/**
 * Fetches and validates one agent endpoint. One deadline covers connect,
 * headers and body, so a slow drip costs at most timeoutMs; the body is read
 * with a byte cap, so a huge answer costs at most maxBodyBytes.
 */
export function createAgentClient(opts: AgentClientOptions): AgentClient {
  const dispatcher =
    opts.dispatcher ?? new Agent({ keepAliveTimeout: 60_000, connections: 4, connect: { timeout: opts.timeoutMs } });
  const ownDispatcher = !opts.dispatcher;

  return {
    async get(agent, path, schema) {
      const headers: Record<string, string> = { accept: 'application/json' };
      if (agent.token) headers.authorization = `Bearer ${agent.token}`;
      const signal = AbortSignal.timeout(opts.timeoutMs);
      let text: string;
      try {
        const res = await request(`${agent.baseUrl}${path}`, { method: 'GET', headers, signal, dispatcher });
        if (res.statusCode < 200 || res.statusCode > 299) {
          res.body.resume();
          throw new PollError('http_status', `HTTP ${res.statusCode} from ${path}`);
        }
        const declared = Number(res.headers['content-length']);
        if (Number.isFinite(declared) && declared > opts.maxBodyBytes) {
          res.body.destroy();
          throw new PollError('body_too_large', `body of ${declared} bytes exceeds the ${opts.maxBodyBytes} byte limit`);
        }
        const chunks: Buffer[] = [];
        let size = 0;
        for await (const chunk of res.body) {
          size += (chunk as Buffer).length;
          if (size > opts.maxBodyBytes) {
            res.body.destroy();
            throw new PollError('body_too_large', `body exceeds the ${opts.maxBodyBytes} byte limit`);
          }
          chunks.push(chunk as Buffer);
        }
        text = Buffer.concat(chunks).toString('utf8');
      } catch (err) {
        if (err instanceof PollError) throw err;
        throw networkError(err);
      }
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (err) {
        throw new PollError('invalid_json', `not JSON: ${(err as Error).message}`, { cause: err });
      }
      const parsed = schema.safeParse(json);
      if (!parsed.success) throw new PollError('invalid_body', describeValidation(parsed.error));
      return parsed.data;
    },
    async close() {
      if (ownDispatcher) await dispatcher.close();
    },
  };
}
