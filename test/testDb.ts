import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { createPgDb, createPgliteDb, type Db } from '../packages/collector/src/store/db';
import { migrate, readMigrations } from '../packages/collector/src/store/migrate';
import { adminQuery, databaseUrl } from './pg';

export const MIGRATIONS_DIR = path.join(__dirname, '..', 'migrations');

const unavailable = process.env.VIWORKS_TEST_PG_UNAVAILABLE;

/** describe() when PostgreSQL is reachable; outside CI a skip with the reason. */
export const describePg: jest.Describe = unavailable
  ? (Object.assign((name: string, fn: () => void) => describe.skip(`${name} (PostgreSQL unavailable: ${unavailable})`, fn), describe) as jest.Describe)
  : describe;

export interface TestDb {
  db: Db;
  url: string | null;
  name: string | null;
  drop(): Promise<void>;
}

/** A throw-away, migrated PostgreSQL database (copied from the run's template). */
export async function createPgTestDb(opts: { migrated?: boolean } = {}): Promise<TestDb> {
  const template = process.env.VIWORKS_TEST_TEMPLATE_DB;
  if (!template) throw new Error('no template database: is PostgreSQL running?');
  const name = `viworks_test_${randomBytes(6).toString('hex')}`;
  await adminQuery(opts.migrated === false ? `CREATE DATABASE ${name}` : `CREATE DATABASE ${name} TEMPLATE ${template}`);
  const url = databaseUrl(name);
  const db = createPgDb(url, { max: 5 });
  return {
    db,
    url,
    name,
    async drop() {
      await db.close().catch(() => undefined);
      await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

/** An in-memory PGlite database with the migrations applied. */
export async function createPgliteTestDb(): Promise<TestDb> {
  const db = await createPgliteDb(null);
  await migrate(db, readMigrations(MIGRATIONS_DIR));
  return { db, url: null, name: null, drop: () => db.close() };
}

/** Both store backends, for tests that must hold on each. */
export const BACKENDS: Array<[string, () => Promise<TestDb>]> = [
  ['postgres', () => createPgTestDb()],
  ['pglite', () => createPgliteTestDb()],
];

export const silentLogger = () => require('pino')({ level: 'silent' });
