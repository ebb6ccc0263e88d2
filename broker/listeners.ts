import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import type { AddressInfo, Server as NetServer, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, createWebSocketStream } from 'ws';

/**
 * The transports: MQTT over TCP, and MQTT over WebSocket (the `mqtt` subprotocol, §6). Both hand
 * each connection to `handle` (the frame guard, then `aedes.handle`) and know how to shut down
 * without waiting for clients that never hang up.
 */

/** Largest fixed header (§2.2: one byte + four of Remaining Length). */
const MAX_FIXED_HEADER = 5;
/** Idle time before the first TCP keepalive probe. */
const TCP_KEEPALIVE_IDLE_MS = 60_000;

export interface Listener {
  readonly port: number;
  /** Stops accepting and destroys every connection still open. */
  close(): Promise<void>;
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

export async function listenTcp(host: string, port: number, handle: ConnectionHandler): Promise<Listener> {
  const sockets = new Set<Socket>();
  const server = createNetServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    // MQTT is request/response on small packets; Nagle would delay every PUBACK by up to 40 ms.
    socket.setNoDelay(true);
    // Keep Alive 0 turns MQTT's own liveness check off (§3.1.2.10): TCP keepalive still finds a
    // peer that vanished without a FIN (power cut, NAT timeout), after the idle time plus the
    // kernel's probes, and Aedes then sees the socket close and publishes the client's Will.
    socket.setKeepAlive(true, TCP_KEEPALIVE_IDLE_MS);
    handle(socket);
  });
  const actual = await listen(server, host, port);
  return {
    port: actual,
    async close() {
      const closed = closeServer(server);
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

export async function listenWebSocket(host: string, port: number, maxFrameBytes: number, handle: ConnectionHandler): Promise<Listener> {
  const http = createHttpServer((_req, res) => {
    // Only upgrades are served here; §6 MQTT over WebSocket needs nothing else.
    res.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' }).end('MQTT over WebSocket only\n');
  });
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
    async close() {
      for (const ws of wss.clients) ws.terminate();
      const closed = closeServer(http);
      http.closeAllConnections();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await closed;
    },
  };
}
