import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, RequestListener, Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer } from 'node:net';
import type { AddressInfo, Server as NetServer, Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { SecureContextOptions, Server as TlsServer, TlsOptions } from 'node:tls';
import type { Duplex } from 'node:stream';
import { WebSocketServer, createWebSocketStream } from 'ws';

/**
 * The transports: MQTT over TCP, and MQTT over WebSocket (the `mqtt` subprotocol, §6), each also
 * over TLS (§4.2: MQTT over TLS, IANA port 8883). All hand each connection to `handle` (the frame
 * guard, then `aedes.handle`) and know how to shut down without waiting for clients that never
 * hang up. A TLS listener takes a new certificate without dropping anyone (`setSecureContext`
 * applies to handshakes from then on; sessions already up keep theirs).
 */

/** Largest fixed header (§2.2: one byte + four of Remaining Length). */
const MAX_FIXED_HEADER = 5;
/** Idle time before the first TCP keepalive probe. */
const TCP_KEEPALIVE_IDLE_MS = 60_000;

export interface Listener {
  readonly port: number;
  /** TLS listeners only: the certificate for handshakes from now on. */
  setSecureContext?(options: SecureContextOptions): void;
  /** Stops accepting and destroys every connection still open. */
  close(): Promise<void>;
}

/**
 * Modern defaults (Mozilla "intermediate"): TLS 1.2 and 1.3 only; OpenSSL's default cipher list
 * already has no export, RC4 or NULL suites. A client certificate is asked for when a CA is
 * given; it is checked in `authenticate`, so a device without one can still use its password
 * unless the broker requires a certificate.
 */
export function tlsServerOptions(context: SecureContextOptions, clientCerts: 'none' | 'optional' | 'required'): TlsOptions {
  return {
    ...context,
    minVersion: 'TLSv1.2',
    requestCert: clientCerts !== 'none',
    // Verified, but not refused by OpenSSL when optional: `authenticate` reads socket.authorized
    // and refuses a certificate that does not verify with CONNACK 4, counted.
    rejectUnauthorized: clientCerts === 'required',
  };
}

export type ConnectionHandler = (conn: Duplex, req?: IncomingMessage) => void;

function listen(server: NetServer | HttpServer, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: NetServer | HttpServer): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

export async function listenTcp(host: string, port: number, handle: ConnectionHandler, tls?: TlsOptions): Promise<Listener> {
  const sockets = new Set<Socket>();
  const onSocket = (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    // MQTT is request/response on small packets; Nagle would delay every PUBACK by up to 40 ms.
    socket.setNoDelay(true);
    // Keep Alive 0 turns MQTT's own liveness check off (§3.1.2.10): TCP keepalive still finds a
    // peer that vanished without a FIN (power cut, NAT timeout), after the idle time plus the
    // kernel's probes, and Aedes then sees the socket close and publishes the client's Will.
    socket.setKeepAlive(true, TCP_KEEPALIVE_IDLE_MS);
    handle(socket);
  };
  // TLS: the connection is handed over once the handshake is done, as a TLSSocket.
  const server: NetServer = tls ? createTlsServer(tls, onSocket) : createNetServer(onSocket);
  if (tls) {
    // A failed handshake (old protocol, unknown CA, plain MQTT on the TLS port) closes that socket
    // only; without a listener it is merely ignored, so say nothing more here.
    server.on('tlsClientError', () => undefined);
  }
  const actual = await listen(server, host, port);
  return {
    port: actual,
    ...(tls ? { setSecureContext: (options: SecureContextOptions) => (server as TlsServer).setSecureContext(options) } : {}),
    async close() {
      const closed = closeServer(server);
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

export async function listenWebSocket(host: string, port: number, maxFrameBytes: number, handle: ConnectionHandler, tls?: TlsOptions): Promise<Listener> {
  const onRequest: RequestListener = (_req, res) => {
    // Only upgrades are served here; §6 MQTT over WebSocket needs nothing else.
    res.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' }).end('MQTT over WebSocket only\n');
  };
  const http: HttpServer = tls ? createHttpsServer(tls, onRequest) : createHttpServer(onRequest);
  if (tls) http.on('tlsClientError', () => undefined);
  const wss = new WebSocketServer({
    server: http,
    // ws buffers a whole WebSocket message before we see any of it, ahead of the frame guard;
    // cap it (its default is 100 MiB). MQTT clients send one packet per message, so one maximal
    // packet plus its header is enough.
    maxPayload: maxFrameBytes + MAX_FIXED_HEADER,
    // Tracked so close() can terminate them. §6: clients offer the `mqtt` subprotocol, and ws
    // accepts the first one offered by default.
    clientTracking: true,
  });
  // ws re-emits the HTTP server's errors (EADDRINUSE at listen, say) on the WebSocketServer; without
  // a listener that is an unhandled 'error' event that kills the process. listen() below already
  // rejects with the same error, and the caller reports it.
  wss.on('error', () => undefined);
  wss.on('connection', (ws, req) => {
    req.socket.setNoDelay(true);
    req.socket.setKeepAlive(true, TCP_KEEPALIVE_IDLE_MS);
    const stream = createWebSocketStream(ws);
    // Errors are handled by Aedes once it owns the stream; this covers the moment before.
    stream.on('error', () => undefined);
    handle(stream, req);
  });
  const actual = await listen(http, host, port);
  return {
    port: actual,
    ...(tls ? { setSecureContext: (options: SecureContextOptions) => (http as unknown as TlsServer).setSecureContext(options) } : {}),
    async close() {
      for (const ws of wss.clients) ws.terminate();
      const closed = closeServer(http);
      http.closeAllConnections();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await closed;
    },
  };
}
