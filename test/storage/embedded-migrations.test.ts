import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { serialConnection } from '../../storage/embedded/connection.js';
import { latestSchemaVersion, migrate, migrations } from '../../storage/embedded/schema.js';

/**
 * Migrations are numbered when work starts and may ship out of order: a file that one version
 * brought to 8 may still lack 7 when 7 lands later. The loop applies every migration not applied
 * yet, not only those above the highest applied.
 */
describe('embedded schema migrations', () => {
  const open = async () => serialConnection(await (await DuckDBInstance.create(':memory:')).connect(), 'test');
  const versions = async (conn: Awaited<ReturnType<typeof open>>) =>
    (await conn.query('SELECT version FROM schema_version ORDER BY version')).map((r) => Number(r.version));

  it('applies all migrations once, in order, then nothing on a second run', async () => {
    const conn = await open();
    const latest = latestSchemaVersion;
    expect(await migrate(conn)).toEqual({ from: 0, to: latest });
    expect(await versions(conn)).toEqual([...migrations.map((m) => m.version)].sort((a, b) => a - b));
    expect(await migrate(conn)).toEqual({ from: latest, to: latest });
    await conn.close();
  });

  it('applies a migration missing below the highest applied one (shipped out of order)', async () => {
    const conn = await open();
    await migrate(conn);
    // Undo migration 6 alone, as if the file had been migrated by a version without it.
    await conn.run('DROP TABLE register_days');
    await conn.run('DROP TABLE rollup_state');
    await conn.run('ALTER TABLE sites DROP COLUMN grid_region');
    await conn.run('DELETE FROM schema_version WHERE version = 6');
    const latest = latestSchemaVersion;
    expect(await migrate(conn)).toEqual({ from: latest, to: latest });
    expect(await versions(conn)).toContain(6);
    expect(await conn.query('SELECT count(*) AS n FROM rollup_state')).toEqual([{ n: 0n }]);
    // Migration 8's objects are still there.
    expect(await conn.query('SELECT count(*) AS n FROM commands')).toEqual([{ n: 0n }]);
    await conn.close();
  });

  it('refuses a file migrated by a newer version', async () => {
    const conn = await open();
    await migrate(conn);
    await conn.run('INSERT INTO schema_version VALUES (999, 0)');
    await expect(migrate(conn)).rejects.toThrow(/schema version 999, written by a newer Anju/);
    await conn.close();
  });
});
