import type { Duplex } from 'node:stream';

/**
 * Transport-level frame guard.
 *
 * MQTT 3.1.1 has no maximum packet size (that arrives with MQTT 5's Maximum Packet Size
 * property), and Aedes's parser (mqtt-packet on top of a BufferList) keeps appending bytes until a
 * whole packet has arrived: a client announcing a 256 MiB PUBLISH gets 256 MiB of our memory.
 * The only place to stop that is before the bytes reach the parser.
 *
 * Why not a Transform or a wrapping Duplex: Aedes reads the connection in paused mode — on
 * 'readable' it calls `conn.read(null)` and parses what it gets (lib/client.js, `nextBatch`) — and
 * writes CONNACK/PUBACK/PUBLISH to the *same* object. A Transform's writable side is its input,
 * so Aedes's replies would be fed back into the guard instead of reaching the socket; a correct
 * Duplex wrapper has to forward writes, 'drain', 'end', 'close', errors, destroy() and
 * `remoteAddress` (which preConnect's rate limit needs), and adds a stream hop per chunk.
 * Instead we wrap the connection's own `read`: the guard sees exactly the bytes Aedes is about to
 * parse, at the moment it takes them, with no copy and no extra buffering. Backpressure is
 * untouched — while Aedes is busy it does not read, the socket stops at its highWaterMark and TCP
 * flow control pushes back on the sender — so the most a connection can make us hold is one
 * socket buffer (or one WebSocket message, bounded by ws `maxPayload`) plus one packet of at
 * most `maxFrameBytes`.
 */

/** MQTT 3.1.1 §2.2.3: Remaining Length takes at most four bytes (max 268,435,455). */
const MAX_LENGTH_BYTES = 4;

/**
 * Follows the packet boundaries of an MQTT byte stream, looking only at fixed headers
 * (§2.2: one type/flags byte, then the variable-length Remaining Length) and skipping bodies.
 */
export class FrameScanner {
  /** Body bytes of the current packet still to skip. */
  private remaining = 0;
  /** True between the type byte and the last Remaining Length byte. */
  private inLength = false;
  private length = 0;
  private multiplier = 1;
  private lengthBytes = 0;

  constructor(private readonly maxRemainingLength: number) {}

  /** False as soon as a header announces a Remaining Length over the limit (or a malformed one). */
  scan(chunk: Uint8Array): boolean {
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      if (this.remaining > 0) {
        const skip = Math.min(this.remaining, n - i);
        i += skip;
        this.remaining -= skip;
        continue;
      }
      const byte = chunk[i++] as number;
      if (!this.inLength) {
        // Fixed header byte 1: packet type and flags. The length follows.
        this.inLength = true;
        this.length = 0;
        this.multiplier = 1;
        this.lengthBytes = 0;
        continue;
      }
      // §2.2.3: seven bits of value per byte, least significant first; bit 8 = "more follows".
      this.length += (byte & 0x7f) * this.multiplier;
      this.lengthBytes++;
      // The partial sum is a lower bound of the final length, so we can refuse early.
      if (this.length > this.maxRemainingLength) return false;
      if (byte & 0x80) {
        if (this.lengthBytes === MAX_LENGTH_BYTES) return false; // a fifth byte is malformed
        this.multiplier *= 128;
      } else {
        this.inLength = false;
        this.remaining = this.length;
      }
    }
    return true;
  }
}

/**
 * Installs the guard on a connection before it is handed to `aedes.handle`. When a packet is too
 * large the connection is destroyed, the offending bytes are never returned to the reader, and
 * `onTooLarge` is called once.
 */
export function guardFrames(conn: Duplex, maxFrameBytes: number, onTooLarge: () => void): void {
  const scanner = new FrameScanner(maxFrameBytes);
  const read = conn.read;
  let tripped = false;
  conn.read = function guardedRead(this: Duplex, size?: number): unknown {
    if (tripped) return null;
    const chunk: unknown = read.call(this, size);
    // Aedes never calls setEncoding, so data is always a Buffer; read(0) and an empty buffer
    // return null.
    if (!(chunk instanceof Uint8Array) || scanner.scan(chunk)) return chunk;
    tripped = true;
    onTooLarge();
    this.destroy();
    return null;
  };
}
