import path from 'node:path';
import type { CollectorConfig } from './config';
import { createPgDb, createPgliteDb, type Db } from './store/db';

/** DATABASE_URL → that PostgreSQL; otherwise an embedded PGlite in the data folder. */
export async function openStore(config: Pick<CollectorConfig, 'databaseUrl' | 'dataDir'>): Promise<Db> {
  if (config.databaseUrl) return createPgDb(config.databaseUrl);
  return createPgliteDb(path.join(config.dataDir, 'pglite'));
}
