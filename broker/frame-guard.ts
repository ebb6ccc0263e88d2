import { isUtf8 } from 'node:buffer';
import type { Duplex } from 'node:stream';

/**
 * Transport-level frame guard.
 *
 * MQTT 3.1.1 has no maximum packet size (that arrives with MQTT 5's Maximum Packet Size
 * property), and Aedes's parser (mqtt-packet on top of a BufferList) keeps appending bytes until a
 * whole packet has arrived: a client announcing a 256 MiB PUBLISH gets 256 MiB of our memory.
 * The only place to stop that is before the bytes reach the parser.
 *
 * The same place checks the UTF-8 strings of a packet (§1.5.3): topic names, topic filters, client
 * id, Will topic and user name must be well-formed UTF-8 without U+0000, and a server receiving
 * anything else "MUST close the Network Connection" [MQTT-1.5.3-1, -2; §4.7.3 for topics]. The
 * parser cannot tell: it decodes with Buffer#toString, which turns ill-formed bytes into U+FFFD,
 * so `devices/d1/tele\xFFmetry` would reach the ACL as a different, valid-looking topic.
 *
 * Why not a Transform or a wrapping Duplex: Aedes reads the connection in paused mode — on
 * 'readable' it calls `conn.read(null)` and parses what it gets (lib/client.js, `nextBatch`) — and
 * writes CONNACK/PUBACK/PUBLISH to the *same* object. A Transform's writable side is its input,
 * so Aedes's replies would be fed back into the guard instead of reaching the socket; a correct
 * Duplex wrapper has to forward writes, 'drain', 'end', 'close', errors, destroy() and
 * `remoteAddress` (which preConnect's rate limit needs), and adds a stream hop per chunk.
 * Instead we wrap the connection's own `read`: the guard sees exactly the bytes Aedes is about to
 * parse, at the moment it takes them, with no copy and no extra buffering (a PUBLISH topic split
 * across two reads is the one thing copied). Backpressure is untouched — while Aedes is busy it
 * does not read, the socket stops at its highWaterMark and TCP flow control pushes back on the
 * sender — so the most a connection can make us hold is one socket buffer (or one WebSocket
 * message, bounded by ws `maxPayload`) plus one packet of at most `maxFrameBytes`.
 */

/** MQTT 3.1.1 §2.2.3: Remaining Length takes at most four bytes (max 268,435,455). */
const MAX_LENGTH_BYTES = 4;

/** §2.2.1 control packet types whose body holds UTF-8 strings (§1.5.3). */
const CONNECT = 1;
const PUBLISH = 3;
const SUBSCRIBE = 8;
const UNSUBSCRIBE = 10;

export type FrameVerdict = 'ok' | 'too_large' | 'invalid_string';

/**
 * Follows the packet boundaries of an MQTT byte stream, looking at fixed headers (§2.2: one
 * type/flags byte, then the variable-length Remaining Length) and at the head of the bodies that
 * carry strings: all of a CONNECT, SUBSCRIBE or UNSUBSCRIBE (small, and bounded by the limit),
 * only the topic of a PUBLISH. Payloads are skipped unread.
 */
export class FrameScanner {
  /** Body bytes of the current packet still to skip. */
  private remaining = 0;
  /** True between the type byte and the last Remaining Length byte. */
  private inLength = false;
  private type = 0;
  private length = 0;
  private multiplier = 1;
  private lengthBytes = 0;
  /** Bytes of the current body to inspect (0: none), and the pieces gathered so far. */
  private want = 0;
  private parts: Buffer[] = [];
  private gathered = 0;
  /** A PUBLISH whose two topic-length bytes were split across reads: `want` covers only them. */
  private topicLengthPending = false;

  constructor(private readonly maxRemainingLength: number) {}

  /** `too_large` as soon as a header announces a Remaining Length over the limit (or a malformed one). */
  scan(input: Uint8Array): FrameVerdict {
    const chunk = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      if (this.remaining > 0) {
        const skip = Math.min(this.remaining, n - i);
        if (this.want > this.gathered && !this.inspect(chunk, i, skip)) return 'invalid_string';
        i += skip;
        this.remaining -= skip;
        continue;
      }
      const byte = chunk[i++] as number;
      if (!this.inLength) {
        // Fixed header byte 1: packet type and flags. The length follows.
        this.inLength = true;
        this.type = byte >> 4;
        this.length = 0;
        this.multiplier = 1;
        this.lengthBytes = 0;
        continue;
      }
      // §2.2.3: seven bits of value per byte, least significant first; bit 8 = "more follows".
      this.length += (byte & 0x7f) * this.multiplier;
      this.lengthBytes++;
      // The partial sum is a lower bound of the final length, so we can refuse early.
      if (this.length > this.maxRemainingLength) return 'too_large';
      if (byte & 0x80) {
        if (this.lengthBytes === MAX_LENGTH_BYTES) return 'too_large'; // a fifth byte is malformed
        this.multiplier *= 128;
      } else {
        this.inLength = false;
        this.remaining = this.length;
        if (!this.startBody(chunk, i)) return 'invalid_string';
      }
    }
    return 'ok';
  }

  /**
   * Decides how much of the body that starts at `chunk[at]` to inspect. The common case — a PUBLISH
   * whose whole topic is in this read — is checked right here, in place; false when it is invalid.
   */
  private startBody(chunk: Buffer, at: number): boolean {
    this.parts = [];
    this.gathered = 0;
    this.topicLengthPending = false;
    this.want = 0;
    if (this.type === CONNECT || this.type === SUBSCRIBE || this.type === UNSUBSCRIBE) {
      this.want = this.length;
    } else if (this.type === PUBLISH) {
      // The topic length is in the first two bytes (§3.3.2.1): usually already in this read.
      if (at + 2 > chunk.length) {
        this.want = Math.min(2, this.length);
        this.topicLengthPending = this.length > 2;
        return true;
      }
      const end = Math.min(this.length, 2 + chunk.readUInt16BE(at));
      if (at + end <= chunk.length) return topicValid(chunk, at + 2, at + end);
      this.want = end;
    }
    return true;
  }

  /** Takes up to `count` body bytes at `chunk[from]`; false when the strings they complete are invalid. */
  private inspect(chunk: Buffer, from: number, count: number): boolean {
    while (count > 0 && this.want > this.gathered) {
      const take = Math.min(count, this.want - this.gathered);
      this.parts.push(chunk.subarray(from, from + take));
      this.gathered += take;
      from += take;
      count -= take;
      if (this.gathered < this.want) return true;
      // One part (the common case) is checked in place; a region split across reads is joined.
      const head = this.parts.length === 1 ? (this.parts[0] as Buffer) : Buffer.concat(this.parts);
      if (this.topicLengthPending) {
        this.topicLengthPending = false;
        this.parts = [head];
        this.want = Math.min(this.length, 2 + head.readUInt16BE(0));
        continue;
      }
      this.want = 0;
      this.parts = [];
      return stringsValid(this.type, head);
    }
    return true;
  }
}

/** §1.5.3: well-formed UTF-8 (no surrogates, no overlong forms), and no U+0000. */
function validString(s: Buffer): boolean {
  return !s.includes(0) && isUtf8(s);
}

/**
 * `validString` for `buf[from, to)` without a copy, on the PUBLISH hot path: topics are nearly
 * always ASCII, checked byte by byte (cheaper than a native call for 20–60 bytes); anything else
 * goes to the full check.
 */
function topicValid(buf: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const b = buf[i] as number;
    if (b === 0) return false;
    if (b >= 0x80) return validString(buf.subarray(from, to));
  }
  return true;
}

/**
 * Walks the length-prefixed strings of a packet body (§1.5.3: two-byte length, then the bytes).
 * A structure it cannot follow (a length past the end) is left to the parser, which refuses
 * malformed packets itself; only a string it can delimit is judged.
 */
export function stringsValid(type: number, body: Buffer): boolean {
  let at = 0;
  const next = (): Buffer | undefined => {
    if (at + 2 > body.length) return undefined;
    const len = body.readUInt16BE(at);
    if (at + 2 + len > body.length) return undefined;
    const s = body.subarray(at + 2, at + 2 + len);
    at += 2 + len;
    return s;
  };
  const ok = (s: Buffer | undefined) => s === undefined || validString(s);
  switch (type) {
    case PUBLISH:
      return ok(next());
    case SUBSCRIBE:
    case UNSUBSCRIBE: {
      at = 2; // Packet Identifier
      while (at < body.length) {
        const filter = next();
        if (filter === undefined) return true;
        if (!validString(filter)) return false;
        if (type === SUBSCRIBE) at += 1; // Requested QoS
      }
      return true;
    }
    case CONNECT: {
      // §3.1.2: Protocol Name, Level, Connect Flags, Keep Alive; then §3.1.3's payload.
      if (!ok(next())) return false;
      const level = body[at];
      const flags = body[at + 1];
      if (level === undefined || flags === undefined) return true;
      // MQTT 5 (level 5) puts properties here; Aedes refuses that level with return code 1 anyway.
      if (level !== 3 && level !== 4) return true;
      at += 4;
      if (!ok(next())) return false; // Client Identifier
      if (flags & 0x04) {
        if (!ok(next())) return false; // Will Topic
        next(); // Will Message: binary data, not a string
      }
      if (flags & 0x80 && !ok(next())) return false; // User Name (the Password is binary)
      return true;
    }
    default:
      return true;
  }
}

export interface FrameGuardEvents {
  /** A packet announced more than `maxFrameBytes`. */
  onTooLarge(): void;
  /** A topic, filter, client id or user name was ill-formed UTF-8 or held U+0000. */
  onInvalidString(): void;
}

/**
 * Installs the guard on a connection before it is handed to `aedes.handle`. When a packet is too
 * large or carries an invalid string, the connection is destroyed, the offending bytes are never
 * returned to the reader, and the matching event is called once.
 */
export function guardFrames(conn: Duplex, maxFrameBytes: number, events: FrameGuardEvents): void {
  const scanner = new FrameScanner(maxFrameBytes);
  const read = conn.read;
  let tripped = false;
  conn.read = function guardedRead(this: Duplex, size?: number): unknown {
    if (tripped) return null;
    const chunk: unknown = read.call(this, size);
    // Aedes never calls setEncoding, so data is always a Buffer; read(0) and an empty buffer
    // return null.
    if (!(chunk instanceof Uint8Array)) return chunk;
    const verdict = scanner.scan(chunk);
    if (verdict === 'ok') return chunk;
    tripped = true;
    if (verdict === 'too_large') events.onTooLarge();
    else events.onInvalidString();
    this.destroy();
    return null;
  };
}
