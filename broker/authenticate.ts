import type { AuthenticateError, Client, ConnectPacket } from 'aedes';
import type { Logger } from 'pino';
import { isValidId } from '../core/topics.js';
import { verifyNothing, verifySecret } from '../core/secrets.js';
import type { BrokerPolicy } from './contracts.js';
import type { ClientCertificate } from './client-certificate.js';
import { devicePublishProblem, mayPublish } from './acl.js';
import { abandoned, createCredentialGate, defaultCredentialConcurrency, type CredentialGate } from './credential-gate.js';
import type { AuthFailureReason, BrokerMetrics } from './metrics.js';
import { principalName, setPrincipal } from './principal.js';
import type { Principal } from './principal.js';

/**
 * CONNECT authentication. No anonymous access: a username naming a service account is checked
 * against its scrypt hash; any other username is a device id and its password the device secret,
 * checked by the injected policy (the registry). Over TLS, a client certificate verified against
 * the configured CA names a device by its CN instead (client-certificate.ts); a certificate that
 * does not verify, or names another id than the username given, is refused with code 4.
 *
 * CONNACK return codes, MQTT 3.1.1 §3.2.2.3 — only 0–5 are ever sent (6 and up are reserved;
 * keep-alive is never refused, see limits.ts):
 *   2 identifier rejected — the client id is not this principal's (see `clientIdAllowed`);
 *   3 server unavailable  — the broker is starting or stopping (nothing may be acknowledged before
 *     the path to the store is attached, or after it starts to close), or the registry failed;
 *   4 bad user name or password — missing, unknown or wrong credentials, all alike and in the same
 *     time (an unknown name pays a scrypt too), so that an attacker cannot tell which ids exist;
 *   5 not authorized — a Will the principal could not publish itself.
 */

/** Aedes's generous default (23) is the MQTT 3.1 limit; ours fits a 64-char id plus a suffix. */
export const MAX_CLIENT_ID_LENGTH = 128;

/**
 * What separates a principal's name from a client-id suffix. Device and service-account ids are
 * letters, digits, `_`, `.` and `-` (core/topics.ts `idPattern`), never `:`, so `d1:ota` belongs to
 * `d1` and to nobody else. (The former `-` separator was ambiguous: `d1-x` was both in `d1`'s
 * namespace and device `d1-x`'s own id, so `d1` could take `d1-x`'s session over.)
 */
export const CLIENT_ID_SEPARATOR = ':';

/**
 * Aedes keys sessions by client id and a CONNECT with an id in use takes the old connection over
 * (§3.1.4-2). So a principal may only use client ids in its own namespace: its name, or its name,
 * `:` and a suffix of 1–63 characters (`d1`, `d1:ota`).
 */
export function clientIdAllowed(name: string, clientId: string): boolean {
  if (clientId === name) return true;
  const suffix = clientId.slice(name.length + 1);
  return clientId.length <= MAX_CLIENT_ID_LENGTH && clientId.startsWith(`${name}${CLIENT_ID_SEPARATOR}`) && suffix.length > 0 && suffix.length < 64;
}

export type Will = ConnectPacket['will'];

type AuthenticateHandler = (
  client: Client,
  username: Readonly<string | undefined>,
  password: Readonly<Buffer | undefined>,
  done: (error: AuthenticateError | null, success: boolean | null) => void,
) => void;

type Refusal = { ok: false; returnCode: 2 | 3 | 4 | 5; message: string; reason: AuthFailureReason | 'client_id' | 'unavailable' | 'abandoned'; detail?: string };
type Outcome = { ok: true; principal: Principal } | Refusal;

export interface AuthenticateDeps {
  policy: BrokerPolicy;
  metrics: BrokerMetrics;
  logger: Logger;
  /** The Will of the client's CONNECT, remembered by preConnect (Aedes does not pass it here). */
  willOf(client: Client): Will | undefined;
  /** Who holds the live connection registered under `clientId`, if any. */
  holderOf(clientId: string): Principal | undefined;
  /** False while the broker is starting or stopping: every CONNECT is then answered with code 3. */
  ready(): boolean;
  /** The connection's TLS client certificate, if any (default: none). */
  clientCertificate?(client: Client): ClientCertificate;
  /** Where the credential checks wait their turn (default: one per core, at most 4). */
  gate?: CredentialGate;
}

/**
 * The client hung up. Aedes sets `closed` when its connection's stream ends, but it pauses the
 * connection while authenticating (lib/handlers/connect.js), and a paused stream does not emit its
 * end: a closed WebSocket, or a TCP FIN after bytes not yet read, leaves only the readable side
 * ended (`_readableState.ended`, set by the stream's push(null) whether or not anyone reads).
 */
function connectionGone(client: Client): boolean {
  if (client.closed) return true;
  const conn = (client as unknown as { conn?: { destroyed?: boolean; readableEnded?: boolean; _readableState?: { ended?: boolean } } }).conn;
  return conn?.destroyed === true || conn?.readableEnded === true || conn?._readableState?.ended === true;
}

/** Same device, or same service account. */
function samePrincipal(a: Principal, b: Principal): boolean {
  return a.kind === 'device' ? b.kind === 'device' && a.deviceId === b.deviceId : b.kind === 'service' && a.account.username === b.account.username;
}

export function createAuthenticate(deps: AuthenticateDeps): AuthenticateHandler {
  const { policy, metrics, logger } = deps;
  const gate = deps.gate ?? createCredentialGate({ concurrency: defaultCredentialConcurrency });

  async function decide(client: Client, username: string | undefined, password: Buffer | undefined): Promise<Outcome> {
    // Before any scrypt: a starting or stopping broker takes nothing (the client retries).
    if (!deps.ready()) return refuse(3, 'unavailable');
    const certificate = deps.clientCertificate?.(client) ?? { status: 'none' };
    if (certificate.status === 'refused') return { ...refuse(4, 'bad_certificate'), detail: certificate.problem };
    if (certificate.status === 'verified') {
      const id = certificate.commonName;
      // The username may be left out (§3.1.2.8 allows it) or repeat the CN; another name is a
      // mistake or an attempt to borrow a certificate, so it is refused rather than ignored.
      if (username !== undefined && username !== id) return refuse(4, 'bad_certificate');
      // A certificate outlives a deleted device: the registry still has the last word.
      if (!isValidId(id) || !(await policy.deviceRegistered?.(id))) return refuse(4, 'bad_certificate');
      return admitted(client, id, { kind: 'device', deviceId: id });
    }
    // §3.1.2.9: a password without a username is a protocol error; either way, no anonymous access.
    if (!username || !password) return refuse(4, 'missing_credentials');
    const secret = password.toString('utf8');

    const urgent = policy.serviceAccount(username) !== undefined;
    // Checked in turn, and not at all for a client that left, or a broker that began to stop, while it waited (credential-gate.ts).
    const verdict = await gate.run(() => deps.ready() && !connectionGone(client), async (): Promise<Principal | undefined> => {
      // Looked up at its turn: an account whose secret was rotated, or that was deleted, while the CONNECT waited is checked as it stands now.
      const account = policy.serviceAccount(username);
      if (account) return (await verifySecret(secret, account.passwordHash)) ? { kind: 'service', account } : undefined;
      // Not a well-formed device id cannot be one; it still costs a scrypt, like any unknown name.
      const ok = isValidId(username) ? await policy.authenticateDevice(username, secret) : await verifyNothing(secret);
      return ok ? { kind: 'device', deviceId: username } : undefined;
    }, { urgent });
    if (verdict === abandoned) return refuse(3, deps.ready() ? 'abandoned' : 'unavailable');
    if (!verdict) return refuse(4, 'bad_credentials');
    return admitted(client, username, verdict);
  }

  /** The checks after the credentials (or the certificate) named the principal. */
  function admitted(client: Client, username: string, principal: Principal): Outcome {
    // Checked after the credentials, so an unauthenticated peer learns nothing from code 2.
    if (!clientIdAllowed(username, client.id)) return refuse(2, 'client_id');
    // Defence in depth (the `:` namespace already rules it out): only the same principal may
    // take a live connection over; anyone else is refused instead.
    const holder = deps.holderOf(client.id);
    if (holder && !samePrincipal(holder, principal)) return refuse(2, 'client_id');

    // A Will is a publish made later on the client's behalf (§3.1.2.5); it gets the publish rules
    // now, so a device cannot leave a message on another device's topic (or a retained message,
    // or a status other than online/offline) by dropping its line.
    const will = deps.willOf(client);
    if (will && (!mayPublish(principal, will.topic) || (principal.kind === 'device' && devicePublishProblem(principal.deviceId, will)))) {
      return refuse(5, 'will_topic');
    }

    return { ok: true, principal };
  }

  return (client, username, password, done) => {
    decide(client, username, password).then(
      (outcome) => {
        if (outcome.ok) {
          setPrincipal(client, outcome.principal);
          logger.debug({ clientId: client.id, username: username ?? principalName(outcome.principal), type: outcome.principal.kind }, 'client authenticated');
          done(null, true);
          return;
        }
        if (outcome.reason === 'client_id' || outcome.reason === 'unavailable' || outcome.reason === 'abandoned') metrics.connectionsRefused.inc({ reason: outcome.reason });
        else metrics.authFailures.inc({ reason: outcome.reason });
        // The password is never logged, not even its length.
        const hint = outcome.reason === 'client_id' ? `client ids are the username, or the username, "${CLIENT_ID_SEPARATOR}" and a suffix` : undefined;
        const log = outcome.reason === 'unavailable' || outcome.reason === 'abandoned' ? logger.debug.bind(logger) : logger.warn.bind(logger);
        log({ clientId: client.id, username, reason: outcome.reason, returnCode: outcome.returnCode, ...(hint ? { hint } : {}), ...(outcome.detail ? { detail: outcome.detail } : {}) }, 'connect refused');
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

function refuse(returnCode: 2 | 3 | 4 | 5, reason: AuthFailureReason | 'client_id' | 'unavailable' | 'abandoned'): Refusal {
  const messages = { 2: 'identifier rejected', 3: 'server unavailable', 4: 'bad user name or password', 5: 'not authorized' } as const;
  return { ok: false, returnCode, message: messages[returnCode], reason };
}

function authError(returnCode: 2 | 3 | 4 | 5, message: string): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}
