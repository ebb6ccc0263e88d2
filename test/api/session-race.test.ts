import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSessions, defaultSessionConfig, type Sessions } from '../../api/plugins/app/sessions.js';
import { hashPassword } from '../../core/secrets.js';
import { createEmbeddedDatabase, type AccountStore, type EmbeddedDatabase } from '../../storage/index.js';
import { holdPoint, type HoldPoint } from '../helpers/hold-point.js';

/**
 * A log-in checks its password (~0.1 s) with the account as it read it before. Found in review: an
 * account disabled meanwhile (its sessions ended, there being none yet) still got the session, which
 * came back to life when the account was enabled again. Here the read is held while the account changes.
 */
describe('a log-in that overlaps a change of its account', () => {
  let dir: string;
  let db: EmbeddedDatabase;
  let hold: HoldPoint;
  let sessions: Sessions;
  const at = Date.UTC(2026, 0, 1);
  const record = { id: 'zhang', login: 'zhang', displayName: '张伟', disabled: false, createdAt: at, updatedAt: at, passwordSetAt: at,
    grants: [{ role: 'operator' as const, sites: '*' as const }] };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'anju-session-race-'));
    db = await createEmbeddedDatabase({ dataDir: dir, memoryLimit: '128MB', threads: 1 }, { logger: pino({ level: 'silent' }) });
    await db.accounts.create({ ...record, passwordHash: await hashPassword('correct horse') });
    hold = holdPoint();
    const accounts: AccountStore = new Proxy(db.accounts, {
      get(target, key, receiver) {
        if (key !== 'byLogin') return Reflect.get(target, key, receiver) as unknown;
        return async (login: string) => {
          const found = await target.byLogin(login);
          hold.reach();
          await hold.released;
          return found;
        };
      },
    });
    sessions = createSessions(defaultSessionConfig, { accounts, metrics: new Registry() });
  });
  afterEach(async () => {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('disabled meanwhile: refused, and no session comes back when the account is enabled again', async () => {
    const loggingIn = sessions.login('zhang', 'correct horse', '10.0.0.1');
    await hold.reached;
    // PATCH /api/accounts/zhang {disabled: true} (api/routes/api/accounts): stored, then every session ended.
    await db.accounts.update({ ...record, disabled: true, updatedAt: at + 1 });
    sessions.endAll('zhang');
    hold.release();
    await expect(loggingIn).rejects.toMatchObject({ statusCode: 403, code: 'account_disabled' });
    await db.accounts.update({ ...record, updatedAt: at + 2 });
    const again = await sessions.login('zhang', 'correct horse', '10.0.0.1');
    expect(await sessions.lookup(again.sessionId)).toMatchObject({ accountId: 'zhang' });
  });

  it('its password set meanwhile: the password checked is no longer its password, so refused', async () => {
    const loggingIn = sessions.login('zhang', 'correct horse', '10.0.0.1');
    await hold.reached;
    await db.accounts.setPasswordHash('zhang', await hashPassword('battery staple'), at + 5);
    sessions.endAll('zhang');
    hold.release();
    await expect(loggingIn).rejects.toMatchObject({ statusCode: 401 });
  });

  it('its grants changed meanwhile: the session carries the grants as they are now', async () => {
    const loggingIn = sessions.login('zhang', 'correct horse', '10.0.0.1');
    await hold.reached;
    await db.accounts.update({ ...record, grants: [{ role: 'maintenance', sites: ['chundu'] }], updatedAt: at + 1 });
    sessions.endAll('zhang');
    hold.release();
    const result = await loggingIn;
    expect(result.who).toMatchObject({ role: 'maintenance', grants: [{ role: 'maintenance', sites: ['chundu'] }] });
  });
});
