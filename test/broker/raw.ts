import { connect as netConnect, type Socket } from 'node:net';

/**
 * Hand-built MQTT 3.1.1 packets over a raw socket, for what a client library refuses to send
 * (ill-formed UTF-8, U+0000, reserved values) and to see exactly which bytes the broker answers.
 */

/** §1.5.3 UTF-8 string: two-byte length, then the bytes (given raw, so they may be ill-formed). */
export function str(s: string | Buffer): Buffer {
  const b = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
  return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
}

/** §2.2.3 Remaining Length. */
export function remainingLength(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return out;
}

export function packet(firstByte: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([firstByte, ...remainingLength(body.length)]), body]);
}

/** CONNECT (§3.1), clean session, with user name and password. */
export function connectPacket(o: { clientId: string | Buffer; username: string | Buffer; password: string; keepalive?: number; level?: number;
  protocol?: string }): Buffer {
  const keepalive = o.keepalive ?? 60;
  const level = o.level ?? 4;
  const body = Buffer.concat([
    str(o.protocol ?? 'MQTT'), Buffer.from([level, 0xc2, keepalive >> 8, keepalive & 0xff]),
    // MQTT 5 (§3.1.2.11 of that spec) puts a property length here: none.
    level === 5 ? Buffer.from([0x00]) : Buffer.alloc(0),
    str(o.clientId), str(o.username), str(o.password),
  ]);
  return packet(0x10, body);
}

/** PUBLISH (§3.3) at QoS 0, or QoS 1 with packet id 1. */
export function publishPacket(topic: string | Buffer, payload: string, qos: 0 | 1 = 0, retain = false): Buffer {
  const body = Buffer.concat([str(topic), qos === 1 ? Buffer.from([0x00, 0x01]) : Buffer.alloc(0), Buffer.from(payload)]);
  return packet(0x30 | (qos << 1) | (retain ? 1 : 0), body);
}

/** SUBSCRIBE (§3.8), packet id 2, one filter at QoS 0. */
export function subscribePacket(filter: string | Buffer): Buffer {
  return packet(0x82, Buffer.concat([Buffer.from([0x00, 0x02]), str(filter), Buffer.from([0x00])]));
}

export interface RawClient {
  readonly socket: Socket;
  /** Everything the broker sent so far. */
  received(): Buffer;
  send(bytes: Buffer): void;
  /** Resolves once the broker closed the connection. */
  closed(timeoutMs?: number): Promise<void>;
  /** Resolves with the received bytes once at least `n` have arrived. */
  bytes(n: number, timeoutMs?: number): Promise<Buffer>;
  end(): void;
}

export async function rawClient(port: number): Promise<RawClient> {
  const socket = netConnect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  let data = Buffer.alloc(0);
  let isClosed = false;
  const waiters = new Set<() => void>();
  const wake = () => { for (const w of [...waiters]) w(); };
  socket.on('data', (d: Buffer) => { data = Buffer.concat([data, d]); wake(); });
  socket.on('close', () => { isClosed = true; wake(); });
  const until = (cond: () => boolean, what: string, timeoutMs: number) => new Promise<void>((resolve, reject) => {
    if (cond()) return resolve();
    const timer = setTimeout(() => { waiters.delete(check); reject(new Error(`${what} within ${timeoutMs} ms; got ${data.toString('hex')}`)); }, timeoutMs);
    const check = () => {
      if (!cond()) return;
      clearTimeout(timer);
      waiters.delete(check);
      resolve();
    };
    waiters.add(check);
  });
  return {
    socket,
    received: () => data,
    send: (bytes) => { socket.write(bytes); },
    closed: (timeoutMs = 3000) => until(() => isClosed, 'connection not closed', timeoutMs),
    async bytes(n, timeoutMs = 3000) {
      await until(() => data.length >= n || isClosed, `fewer than ${n} bytes`, timeoutMs);
      return data;
    },
    end: () => { socket.destroy(); },
  };
}
