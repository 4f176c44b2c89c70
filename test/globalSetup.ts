import path from 'node:path';
import { createPgDb } from '../packages/collector/src/store/db';
import { migrate, readMigrations } from '../packages/collector/src/store/migrate';
import { adminQuery, databaseUrl, pgReachable } from './pg';

export default async function globalSetup(): Promise<void> {
  const unreachable = await pgReachable();
  if (unreachable) {
    if (process.env.CI === 'true') throw new Error(`CI=true but PostgreSQL is not reachable: ${unreachable}`);
    process.env.VIWORKS_TEST_PG_UNAVAILABLE = unreachable;
    console.warn(`\n[viworks] PostgreSQL not reachable (${unreachable}): PostgreSQL tests will be skipped.\n`);
    return;
  }
  const template = `viworks_tpl_${process.pid}`;
  await adminQuery(`DROP DATABASE IF EXISTS ${template}`);
  await adminQuery(`CREATE DATABASE ${template}`);
  const db = createPgDb(databaseUrl(template), { max: 1 });
  try {
    await migrate(db, readMigrations(path.join(__dirname, '..', 'migrations')));
  } finally {
    await db.close();
  }
  process.env.VIWORKS_TEST_TEMPLATE_DB = template;
}
