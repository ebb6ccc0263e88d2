import { afterEach, describe, expect, it } from 'vitest';
import { createTokenAuthenticator } from '../../api/plugins/app/auth.js';
import { generateToken, hashToken } from '../../core/secrets.js';
import type { StateStore } from '../../storage/index.js';
import { cleanup, freshDir, openDb } from '../storage/spool.helpers.js';
import { holdPoint } from '../helpers/hold-point.js';

/**
 * The API token cache against a revocation that overlaps a lookup. Found in review: a lookup that
 * read the token before the revocation's delete, and answered after its invalidate(), cached it — the
 * revoked token was then trusted for the cache's lifetime. Real DuckDB state store; the lookup held on
 * a gate so the overlap is the same every time (on PostgreSQL it is a pool's ordinary reordering).
 */
afterEach(cleanup);

describe('API token cache and revocation', () => {
  it('a lookup that overlapped a revocation is not cached: the next request with the token is refused', async () => {
    const db = await openDb(await freshDir());
    const token = generateToken();
    await db.state.createToken({ id: 't1', name: 'ops', role: 'operator', createdAt: 1 }, hashToken(token));
    const lookup = holdPoint();
    let hold = true;
    const state: StateStore = new Proxy(db.state, {
      get: (t, k, r) => (k === 'findTokenByHash' ? async (hash: string) => {
        const found = await t.findTokenByHash(hash);
        if (hold) {
          hold = false;
          lookup.reach();
          await lookup.released;
        }
        return found;
      } : Reflect.get(t, k, r) as unknown),
    });
    const auth = createTokenAuthenticator({ cacheTtlMs: 60_000 }, { state });
    const first = auth.authenticate(`Bearer ${token}`);
    await lookup.reached;
    // The revocation (DELETE /api/tokens/t1): the row goes, then the cache.
    await db.state.deleteToken('t1');
    auth.invalidate();
    lookup.release();
    await first;
    await expect(auth.authenticate(`Bearer ${token}`)).rejects.toMatchObject({ statusCode: 401 });
  });
});
