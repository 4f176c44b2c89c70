import { createPgDb } from '../src/store/db';
import { migrate, MigrationError, readMigrations } from '../src/store/migrate';
import { createPgTestDb, createPgliteTestDb, describePg, MIGRATIONS_DIR, type TestDb } from '../../../test/testDb';

const migrations = readMigrations(MIGRATIONS_DIR);

const tableNames = async (t: TestDb) =>
  (await t.db.query<{ tablename: string }>(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`)).rows.map((r) => r.tablename);

test('migration files are numbered without gaps', () => {
  expect(migrations.map((m) => m.id)).toEqual(migrations.map((_, i) => i + 1));
  expect(migrations[0]!.name).toBe('init');
});

describePg('migrations on PostgreSQL', () => {
  let t: TestDb;
  beforeEach(async () => {
    t = await createPgTestDb({ migrated: false });
  });
  afterEach(async () => {
    await t.drop();
  });

  test('applied once, then a second run is a no-op', async () => {
    expect(await migrate(t.db, migrations)).toEqual({ applied: migrations.map((m) => m.id) });
    const tables = await tableNames(t);
    expect(tables).toEqual(expect.arrayContaining(['agent_metrics', 'service_status', 'container_sessions', 'system_inventory', 'disk_usage', 'network_stats', 'agents', 'agent_polls', 'viworks_migrations']));
    expect(await migrate(t.db, migrations)).toEqual({ applied: [] });
    const { rows } = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM viworks_migrations');
    expect(rows[0]!.n).toBe(migrations.length);
  });

  test('two collectors migrating at once: one applies, both start', async () => {
    // Separate pools, as two processes would have.
    const other = createPgDb(t.url!, { max: 2 });
    try {
      const results = await Promise.all([migrate(t.db, migrations), migrate(other, migrations)]);
      const applied = results.map((r) => r.applied.length).sort();
      expect(applied).toEqual([0, migrations.length]);
      const { rows } = await t.db.query<{ id: number; n: number }>('SELECT id, count(*)::int AS n FROM viworks_migrations GROUP BY id');
      expect(rows.every((r) => r.n === 1)).toBe(true);
    } finally {
      await other.close();
    }
  });

  test('a failing migration rolls back and names itself; nothing of it stays', async () => {
    const broken = [...migrations, { id: migrations.length + 1, name: 'broken', sql: 'CREATE TABLE half_done (x int); SELECT no_such_function();' }];
    await expect(migrate(t.db, broken)).rejects.toThrow(/migration \d+ \(broken\) failed/);
    expect(await tableNames(t)).not.toContain('half_done');
    // The earlier ones are applied and recorded.
    expect(await migrate(t.db, migrations)).toEqual({ applied: [] });
  });

  test('refuses to run against a database that is ahead of the code', async () => {
    await migrate(t.db, migrations);
    await t.db.query(`INSERT INTO viworks_migrations (id, name) VALUES (999, 'from_the_future')`);
    await expect(migrate(t.db, migrations)).rejects.toThrow(MigrationError);
    await expect(migrate(t.db, migrations)).rejects.toThrow(/has migration 999 but this collector only knows up to/);
  });
});

test('migrations on PGlite: the same files apply, twice is a no-op', async () => {
  const t = await createPgliteTestDb();
  try {
    expect(await migrate(t.db, migrations)).toEqual({ applied: [] });
    expect(await tableNames(t)).toEqual(expect.arrayContaining(['agent_metrics', 'service_status', 'container_sessions']));
  } finally {
    await t.drop();
  }
});
