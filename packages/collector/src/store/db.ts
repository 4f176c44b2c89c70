import fs from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Pool, type PoolClient } from 'pg';
import { from as copyFromStdin } from 'pg-copy-streams';

/** Anything that runs one parameterised statement. */
export interface Queryable {
  query<R = Record<string, unknown>>(text: string, values?: readonly unknown[]): Promise<{ rows: R[] }>;
  /** Runs a script of several statements (migrations). No parameters. */
  exec(sql: string): Promise<void>;
  /**
   * `COPY … FROM STDIN` of text-format data; returns the rows copied. Only a
   * transaction on a PostgreSQL server has it (PGlite has no COPY protocol),
   * so bulk writers must keep a plain-INSERT path.
   */
  copyFrom?(copySql: string, data: string): Promise<number>;
}

/**
 * The store's only dependency: real PostgreSQL through `pg`, or PGlite (the
 * same Postgres compiled to WASM, in-process) when no server is configured.
 */
export interface Db extends Queryable {
  readonly kind: 'postgres' | 'pglite';
  /** One session for fn: needed for session-level advisory locks. */
  withConnection<T>(fn: (c: Queryable) => Promise<T>): Promise<T>;
  /** BEGIN … COMMIT around fn, ROLLBACK if it throws. */
  transaction<T>(fn: (c: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

async function inTransaction<T>(c: Queryable, fn: (c: Queryable) => Promise<T>): Promise<T> {
  await c.query('BEGIN');
  try {
    const result = await fn(c);
    await c.query('COMMIT');
    return result;
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

function wrapPgClient(client: PoolClient, inTransaction = false): Queryable {
  const q: Queryable = {
    query: async <R>(text: string, values?: readonly unknown[]) =>
      (await client.query({ text, values: values as unknown[] })) as unknown as { rows: R[] },
    exec: async (sql) => void (await client.query(sql)),
  };
  if (inTransaction) {
    q.copyFrom = async (copySql, data) => {
      const sink = client.query(copyFromStdin(copySql));
      await pipeline(Readable.from([data]), sink);
      return sink.rowCount;
    };
  }
  return q;
}

export function createPgDb(connectionString: string, opts: { max?: number; applicationName?: string } = {}): Db {
  const pool = new Pool({
    connectionString,
    max: opts.max ?? 10,
    application_name: opts.applicationName ?? 'viworks-collector',
    // Give up on a dead server quickly; the caller decides whether to retry.
    connectionTimeoutMillis: 10_000,
  });
  // An idle client losing its connection must not crash the process.
  pool.on('error', () => undefined);
  const withClient = async <T>(fn: (c: PoolClient) => Promise<T>): Promise<T> => {
    const client = await pool.connect();
    try {
      return await fn(client);
    } finally {
      client.release();
    }
  };
  const withConnection = <T>(fn: (c: Queryable) => Promise<T>): Promise<T> => withClient((client) => fn(wrapPgClient(client)));
  return {
    kind: 'postgres',
    query: async <R>(text: string, values?: readonly unknown[]) =>
      (await pool.query({ text, values: values as unknown[] })) as unknown as { rows: R[] },
    exec: async (sql) => void (await pool.query(sql)),
    withConnection,
    transaction: (fn) => withClient((client) => inTransaction(wrapPgClient(client, true), fn)),
    close: () => pool.end(),
  };
}

/**
 * PGlite is a single session, so every use of it goes through one queue:
 * a query from the HTTP API must not land inside a poll's transaction.
 */
export async function createPgliteDb(dataDir: string | null): Promise<Db> {
  const { PGlite } = await import('@electric-sql/pglite');
  if (dataDir) fs.mkdirSync(dataDir, { recursive: true });
  const pg = dataDir ? await PGlite.create(dataDir) : await PGlite.create();
  let tail: Promise<unknown> = Promise.resolve();
  const session: Queryable = {
    query: async <R>(text: string, values?: readonly unknown[]) => pg.query<R>(text, values as unknown[]),
    exec: async (sql) => void (await pg.exec(sql)),
  };
  const withConnection = <T>(fn: (c: Queryable) => Promise<T>): Promise<T> => {
    const run = tail.then(() => fn(session));
    tail = run.catch(() => undefined);
    return run;
  };
  return {
    kind: 'pglite',
    query: (text, values) => withConnection((c) => c.query(text, values)),
    exec: (sql) => withConnection((c) => c.exec(sql)),
    withConnection,
    transaction: (fn) => withConnection((c) => inTransaction(c, fn)),
    close: () => withConnection(() => pg.close()),
  };
}

// SQLSTATE classes that mean "the server is not there", not "this batch is wrong":
// 08 connection exception, 57P01-57P03 shutdown / cannot connect now, 53300 too many connections.
const UNREACHABLE_SQLSTATE = /^(08|57P0[123]|53300)/;
const UNREACHABLE_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'EAI_AGAIN']);

/** Whether an error means the database could not be reached (as opposed to refusing a statement). */
export function isUnreachable(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  if (typeof e?.code === 'string' && (UNREACHABLE_SQLSTATE.test(e.code) || UNREACHABLE_ERRNO.has(e.code))) return true;
  // pg reports a dropped connection and a pool timeout without a code.
  // pg-pool's "timeout exceeded when trying to connect": every client stuck, e.g. behind a silent network partition.
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|terminating connection/i.test(
    e?.message ?? '',
  );
}
