import { randomUUID } from 'node:crypto';
import { generateToken, hashToken } from '../core/secrets.js';
import { DuplicateError, type StateStore } from '../storage/state/contract.js';

/**
 * The first admin token (DESIGN §3, `ANJU_ADMIN_TOKEN`). With a configured token, its digest is
 * registered as the admin token `bootstrap-admin` (idempotent: restarts find it). Without one, and
 * only while no admin token exists at all, a token is generated and its plaintext returned for the
 * CLI to print once. This function never logs a token, configured or generated.
 */
export const BOOTSTRAP_TOKEN_NAME = 'bootstrap-admin';

export async function ensureAdminToken(
  adminToken: string | undefined,
  deps: { state: Pick<StateStore, 'findTokenByHash' | 'createToken' | 'listTokens' | 'deleteToken'>; now?: () => number },
): Promise<{ generated?: string }> {
  const now = deps.now ?? Date.now;
  if (adminToken !== undefined) {
    const hash = hashToken(adminToken);
    const existing = await deps.state.findTokenByHash(hash);
    if (existing?.role === 'admin') return {};
    // The configured token is the admin token by definition: one stored with a lesser role (made
    // by hand, or an older start-up) is replaced rather than left able to lock the operator out.
    if (existing) await deps.state.deleteToken(existing.id);
    try {
      await deps.state.createToken({ id: randomUUID(), name: BOOTSTRAP_TOKEN_NAME, role: 'admin', createdAt: now() }, hash);
    } catch (err) {
      // Nodes of a cluster starting together register the same digest: the one that lost finds the winner's.
      if (!(err instanceof DuplicateError) || (await deps.state.findTokenByHash(hash))?.role !== 'admin') throw err;
    }
    return {};
  }
  const tokens = await deps.state.listTokens();
  if (tokens.some((t) => t.role === 'admin')) return {};
  const generated = generateToken();
  await deps.state.createToken({ id: randomUUID(), name: BOOTSTRAP_TOKEN_NAME, role: 'admin', createdAt: now() }, hashToken(generated));
  return { generated };
}
