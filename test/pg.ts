import { Client } from 'pg';

/**
 * Test PostgreSQL: the server on this machine (or TEST_DATABASE_URL's).
 * Each test file gets its own database, created from one migrated template
 * that globalSetup builds once per run (graphile-worker's approach).
 */
export const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export function databaseUrl(name: string): string {
  const u = new URL(ADMIN_URL);
  u.pathname = `/${name}`;
  return u.toString();
}

export async function adminQuery(sql: string, url = ADMIN_URL): Promise<void> {
  const c = new Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

export async function pgReachable(): Promise<string | null> {
  try {
    await adminQuery('SELECT 1');
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}
