import type { AuthenticateError, Client, ConnectPacket } from 'aedes';
import type { Logger } from 'pino';
import { isValidId } from '../core/topics.js';
import { verifySecret } from '../core/secrets.js';
import type { BrokerPolicy, ServiceAccount } from './contracts.js';
import { mayPublish } from './acl.js';
import type { AuthFailureReason, BrokerMetrics } from './metrics.js';
import { setPrincipal } from './principal.js';
import type { Principal } from './principal.js';

/**
 * CONNECT authentication. No anonymous access: a username naming a service account is checked
 * against its scrypt hash; any other username is a device id and its password the device secret,
 * checked by the injected policy (the registry).
 *
 * CONNACK return codes, MQTT 3.1.1 §3.2.2.3:
 *   2 identifier rejected — the client id is not this principal's (see `clientIdAllowed`);
 *   3 server unavailable  — the registry could not answer;
 *   4 bad user name or password — missing, unknown or wrong credentials, all alike so that an
 *     attacker cannot tell which device ids exist;
 *   5 not authorized — a Will on a topic the principal may not publish to.
 */

/** Aedes's generous default (23) is the MQTT 3.1 limit; ours fits a 64-char id plus a suffix. */
export const MAX_CLIENT_ID_LENGTH = 128;

/**
 * Aedes keys sessions by client id and a CONNECT with an id in use takes the old connection over
 * (§3.1.4-2). So a principal may only use client ids in its own namespace: its name, or its name
 * followed by `-` and a suffix (`d1`, `d1-ota`). Stricter than a bare prefix, so that service
 * account `ingest` cannot take over `ingestor`'s sessions.
 */
export function clientIdAllowed(name: string, clientId: string): boolean {
  return clientId.length <= MAX_CLIENT_ID_LENGTH && (clientId === name || clientId.startsWith(`${name}-`));
}

export type Will = ConnectPacket['will'];

type AuthenticateHandler = (
  client: Client,
  username: Readonly<string | undefined>,
  password: Readonly<Buffer | undefined>,
  done: (error: AuthenticateError | null, success: boolean | null) => void,
) => void;

type Outcome =
  | { ok: true; principal: Principal }
  | { ok: false; returnCode: 2 | 3 | 4 | 5; message: string; reason: AuthFailureReason | 'client_id' };

export interface AuthenticateDeps {
  policy: BrokerPolicy;
  metrics: BrokerMetrics;
  logger: Logger;
  /** The Will of the client's CONNECT, remembered by preConnect (Aedes does not pass it here). */
  willOf(client: Client): Will | undefined;
  /** Who holds the live connection registered under `clientId`, if any. */
  holderOf(clientId: string): Principal | undefined;
}

/** Same device, or same service account. */
function samePrincipal(a: Principal, b: Principal): boolean {
  return a.kind === 'device' ? b.kind === 'device' && a.deviceId === b.deviceId : b.kind === 'service' && a.account.username === b.account.username;
}

export function createAuthenticate(deps: AuthenticateDeps): AuthenticateHandler {
  const { policy, metrics, logger } = deps;
  // Looked up per CONNECT; the policy's list is read once, as the contract makes it readonly.
  const accounts = new Map<string, ServiceAccount>(policy.serviceAccounts.map((a) => [a.username, a]));

  async function decide(client: Client, username: string | undefined, password: Buffer | undefined): Promise<Outcome> {
    // §3.1.2.9: a password without a username is a protocol error; either way, no anonymous access.
    if (!username || !password) return refuse(4, 'missing_credentials');
    const secret = password.toString('utf8');

    let principal: Principal;
    const account = accounts.get(username);
    if (account) {
      if (!(await verifySecret(secret, account.passwordHash))) return refuse(4, 'bad_credentials');
      principal = { kind: 'service', account };
    } else {
      // Not a well-formed device id: nothing to look up.
      if (!isValidId(username) || !(await policy.authenticateDevice(username, secret))) return refuse(4, 'bad_credentials');
      principal = { kind: 'device', deviceId: username };
    }

    // Checked after the credentials, so an unauthenticated peer learns nothing from code 2.
    if (!clientIdAllowed(username, client.id)) return refuse(2, 'client_id');
    // Ids may contain `-`, so device `d1`'s namespace (`d1-*`) contains device `d1-x`'s id. Only
    // the same principal may take a live connection over; anyone else is refused instead.
    const holder = deps.holderOf(client.id);
    if (holder && !samePrincipal(holder, principal)) return refuse(2, 'client_id');

    // A Will is a publish made later on the client's behalf (§3.1.2.5); it gets the publish ACL
    // now, so a device cannot leave a message on another device's topic by dropping its line.
    const will = deps.willOf(client);
    if (will && !mayPublish(principal, will.topic)) return refuse(5, 'will_topic');

    return { ok: true, principal };
  }

  return (client, username, password, done) => {
    decide(client, username, password).then(
      (outcome) => {
        if (outcome.ok) {
          setPrincipal(client, outcome.principal);
          logger.info({ clientId: client.id, username, type: outcome.principal.kind }, 'client authenticated');
          done(null, true);
          return;
        }
        if (outcome.reason === 'client_id') metrics.connectionsRefused.inc({ reason: 'client_id' });
        else metrics.authFailures.inc({ reason: outcome.reason });
        // The password is never logged, not even its length.
        logger.warn({ clientId: client.id, username, reason: outcome.reason, returnCode: outcome.returnCode }, 'connect refused');
        done(authError(outcome.returnCode, outcome.message), null);
      },
      (err: unknown) => {
        metrics.authFailures.inc({ reason: 'error' });
        logger.error({ err, clientId: client.id, username }, 'authentication failed with an error');
        done(authError(3, 'server unavailable'), null);
      },
    );
  };
}

function refuse(returnCode: 2 | 4 | 5, reason: AuthFailureReason | 'client_id'): Outcome {
  const messages = { 2: 'identifier rejected', 4: 'bad user name or password', 5: 'not authorized' } as const;
  return { ok: false, returnCode, message: messages[returnCode], reason };
}

function authError(returnCode: 2 | 3 | 4 | 5, message: string): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}
