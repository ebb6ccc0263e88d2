import { hashSecret } from '../core/secrets.js';
import { isValidId } from '../core/topics.js';
import type { ServiceAccount } from './contracts.js';

/**
 * Builds a service account from a plaintext password (e.g. read from configuration at start-up),
 * keeping only its scrypt hash. Patterns are MQTT topic filters; anything not listed is refused.
 */
export async function serviceAccountFromPassword(
  username: string,
  password: string,
  patterns: { publish?: readonly string[]; subscribe?: readonly string[]; deny?: readonly string[] },
): Promise<ServiceAccount> {
  // Same alphabet as device ids: it is used as a client id prefix and appears in logs.
  if (!isValidId(username)) throw new Error(`invalid service account username: ${JSON.stringify(username)}`);
  if (password.length === 0) throw new Error(`service account ${username}: empty password`);
  return {
    username,
    passwordHash: await hashSecret(password),
    publish: [...(patterns.publish ?? [])],
    subscribe: [...(patterns.subscribe ?? [])],
    deny: [...(patterns.deny ?? [])],
  };
}
