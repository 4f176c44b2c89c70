import fs from 'node:fs';
import path from 'node:path';
import type { Db } from './db';

export class MigrationError extends Error {
  override name = 'MigrationError';
}

export interface Migration {
  readonly id: number;
  readonly name: string;
  readonly sql: string;
}

// pg_advisory_lock key: any constant shared by every collector of this schema.
const MIGRATION_LOCK = '7277461223';
const FILE = /^(\d{6})_([a-z0-9_]+)\.sql$/;

/** Finds the repository's migrations/ folder from src/ or dist/ alike. */
export function defaultMigrationsDir(from = __dirname): string {
  let dir = from;
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'migrations');
    if (fs.existsSync(path.join(candidate, '000001_init.sql'))) return candidate;
    dir = path.dirname(dir);
  }
  throw new MigrationError(`no migrations/ folder found above ${from}`);
}

export function readMigrations(dir: string): Migration[] {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.sql')).sort();
  const out: Migration[] = [];
  for (const f of files) {
    const m = FILE.exec(f);
    if (!m) throw new MigrationError(`migration file ${f} is not named NNNNNN_name.sql`);
    const id = Number(m[1]);
    if (id !== out.length + 1) throw new MigrationError(`migration ${f} breaks the sequence (expected ${out.length + 1})`);
    out.push({ id, name: m[2]!, sql: fs.readFileSync(path.join(dir, f), 'utf8') });
  }
  return out;
}

/**
 * Applies pending migrations, each in its own transaction, under a session
 * advisory lock so that collectors starting together apply each file once.
 * Refuses to run against a database that is ahead of this code.
 */
export async function migrate(db: Db, migrations: readonly Migration[]): Promise<{ applied: number[] }> {
  return db.withConnection(async (c) => {
    await c.query('SELECT pg_advisory_lock($1::bigint)', [MIGRATION_LOCK]);
    try {
      await c.exec(`CREATE TABLE IF NOT EXISTS viworks_migrations (
        id integer PRIMARY KEY,
        name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
      const { rows } = await c.query<{ id: number }>('SELECT id FROM viworks_migrations ORDER BY id');
      const done = new Set(rows.map((r) => Number(r.id)));
      const latestKnown = migrations.length;
      const ahead = [...done].filter((id) => id > latestKnown);
      if (ahead.length) {
        throw new MigrationError(
          `the database has migration ${Math.max(...ahead)} but this collector only knows up to ${latestKnown}: upgrade the collector`,
        );
      }
      const applied: number[] = [];
      for (const m of migrations) {
        if (done.has(m.id)) continue;
        await c.exec('BEGIN');
        try {
          await c.exec(m.sql);
          await c.query('INSERT INTO viworks_migrations (id, name) VALUES ($1, $2)', [m.id, m.name]);
          await c.exec('COMMIT');
        } catch (err) {
          await c.exec('ROLLBACK').catch(() => undefined);
          throw new MigrationError(`migration ${m.id} (${m.name}) failed: ${(err as Error).message}`, { cause: err });
        }
        applied.push(m.id);
      }
      return { applied };
    } finally {
      await c.query('SELECT pg_advisory_unlock($1::bigint)', [MIGRATION_LOCK]).catch(() => undefined);
    }
  });
}
