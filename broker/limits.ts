import type { Client, ConnectPacket } from 'aedes';
import type { KeyedTokenBuckets } from '../core/rate-limit.js';

/** The peer address of an Aedes client: the socket for TCP, the upgrade request for WebSocket. */
export function remoteAddressOf(client: Client): string {
  const conn = client.conn as { remoteAddress?: string };
  return conn.remoteAddress ?? client.req?.socket?.remoteAddress ?? 'unknown';
}

export type PreConnectHandler = (client: Client, packet: ConnectPacket, done: (err: Error | null, ok: boolean) => void) => void;

/**
 * Connection-rate limit per remote IP: `perMinute` CONNECTs of burst, refilled continuously. A
 * device fleet reconnecting after a broker restart stays within its burst; a client in a reconnect
 * loop (or a password guesser — each attempt costs us a ~30 ms scrypt) is cut off.
 *
 * preConnect runs on CONNECT before authentication (and before we spend a scrypt on it). A
 * refusal closes the connection without a CONNACK: there is no return code for "slow down" in
 * §3.2.2.3, and answering costs us more than hanging up.
 */
export function createRateLimitPreConnect(limiter: KeyedTokenBuckets, onRefused: (ip: string, clientId: string) => void): PreConnectHandler {
  return (client, packet, done) => {
    const ip = remoteAddressOf(client);
    if (limiter.tryTake(ip)) {
      done(null, true);
      return;
    }
    onRefused(ip, packet.clientId);
    done(new Error('connection rate limit exceeded'), false);
  };
}

/** Aedes options that bound what one connection may cost us. */
export function connectionLimits(config: { drainTimeoutMs: number }) {
  return {
    // Keep Alive: every value is valid. §3.1.2.10 makes 0 "the keep alive mechanism is turned
    // off" and allows up to 65,535 s; a server may close a client that stays silent for 1.5× its
    // value (§3.1.2-24, which Aedes does), but MQTT 3.1.1 gives it no way to refuse or shorten one:
    // Aedes's `keepaliveLimit` answers with return code 6, which §3.2.2.3 reserves. So no limit
    // here; a peer that vanishes without a FIN is found by TCP keepalive instead (listeners.ts),
    // and a device that stops reporting by the alerts engine's offline rule.
    keepaliveLimit: 0,
    // A TCP connection that never sends CONNECT is closed after 10 s (§3.1: the first packet
    // must be CONNECT; the spec leaves the wait to the server).
    connectTimeout: 10_000,
    // A subscriber that stops reading would otherwise stall delivery to everyone (see Aedes docs).
    drainTimeout: config.drainTimeoutMs,
    // Client ids are `{id}` or `{id}:{suffix}`; ids are up to 64 characters.
    maxClientsIdLength: 128,
  };
}
