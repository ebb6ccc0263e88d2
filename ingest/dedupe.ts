/**
 * Drops repeats of a message a device already delivered: QoS 1 is at-least-once, so a device
 * that missed a PUBACK sends the same reading again (MQTT 3.1.1 §4.3.2). A message is identified by
 * its device, its `seq` and its `ts` (when sent), so a device that reboots and restarts its counter
 * at 0 is not mistaken for a repeat once its timestamps move on. Entries expire after `ttlMs`;
 * memory is bounded by `maxEntries`: two generations of at most `maxEntries / 2` entries each, the
 * older dropped whole when the newer fills, so at least the last `maxEntries / 2` messages are
 * always remembered.
 *
 * Why generations, not one map evicting its oldest entry per insert: V8 leaves a deleted Map entry
 * as a hole until the table is rebuilt, and iteration from the start walks every hole, so once full
 * each insert's eviction cost grew with the holes before it — 35 µs per message after 100,000
 * evictions, 160–550 µs after 200,000 (measured, node 20). Dropping a generation is O(1) amortised.
 *
 * Why open-addressing tables in Float64Arrays, not a Map of `device|seq|ts` strings: every message
 * stays remembered for the ttl, so every key the Map held — a string built, flattened and hashed per
 * message — survived into V8's old generation, and the heap the garbage collector marks grew by up
 * to `maxEntries` objects. A typed array's memory is allocated once and holds no object to mark
 * (BENCHMARKS.md, 2026-12-05: the whole platform's CPU per message fell ~6 % with the dedupe's
 * objects gone). A slot is four doubles — device number, seq, ts (NaN: none), first seen — and a
 * 4-byte tag; each generation's table has the power of two at or above `maxEntries` slots, so the
 * default 200,000 entries take 2 × 262,144 × 36 B = 18 MiB, allocated once.
 */

export interface Deduper {
  /**
   * True if this message was seen within the window; else records it as seen now. The same as
   * `find` then `add`, in one probe of each table instead of three (every message asks).
   */
  seen(device: string, seq: number, ts: number | undefined, now: number): boolean;
  /** True if this message was seen within the window. */
  find(device: string, seq: number, ts: number | undefined, now: number): boolean;
  /** Records this message as seen now (call after `find` said it is new). */
  add(device: string, seq: number, ts: number | undefined, now: number): void;
  /** Forgets a message, so one that was not taken is accepted when it is resent. */
  forget(device: string, seq: number, ts: number | undefined): void;
  /** Slots in use (a forgotten message's slot stays used until its generation is dropped). */
  size(): number;
}

const SLOT = 4;
/** A tag never written; a forgotten slot's tag is a tombstone, which a probe walks past. */
const EMPTY = 0;
const FORGOTTEN = 1;

/** The tag of a hash: its high 16 bits, offset past EMPTY and FORGOTTEN. */
const tagOf = (h: number) => (h >>> 16) + 2;

/**
 * One generation: linear probing in a power-of-two table kept at most half full. Each slot has a
 * 16-bit tag from its hash in a table of its own, probed first: a new message (nearly every one)
 * is decided by reading the tags — 4 bytes a slot, 1 MiB a generation at the default size — not the
 * 32-byte slots, 8 MiB a generation, whose random reads missed the processor's caches twice per
 * message (BENCHMARKS.md, 2026-12-05, fifth). A slot's four doubles are read only when its tag matches.
 */
class Table {
  readonly tags: Uint32Array;
  readonly slots: Float64Array;
  readonly mask: number;
  /** Slots written since the last clear, forgotten ones included. */
  count = 0;
  constructor(capacity: number) {
    this.tags = new Uint32Array(capacity);
    this.slots = new Float64Array(capacity * SLOT);
    this.mask = capacity - 1;
  }

  clear(): void {
    this.tags.fill(EMPTY);
    this.count = 0;
  }

  /** The slot holding this message (≥ 0), or −1 − the empty slot it would take; `ts` is NaN for none. */
  slotOf(dev: number, seq: number, ts: number): number {
    const h = hash(dev, seq, ts);
    const tag = tagOf(h);
    const tags = this.tags;
    const s = this.slots;
    for (let i = h & this.mask; ; i = (i + 1) & this.mask) {
      const t = tags[i]!;
      if (t === EMPTY) return -1 - i;
      if (t === tag && s[i * SLOT] === dev && s[i * SLOT + 1] === seq && sameTs(s[i * SLOT + 2]!, ts)) return i;
    }
  }

  /** The slot index holding this message, or -1. */
  indexOf(dev: number, seq: number, ts: number): number {
    const i = this.slotOf(dev, seq, ts);
    return i >= 0 ? i : -1;
  }

  insert(dev: number, seq: number, ts: number, now: number): void {
    let i = hash(dev, seq, ts) & this.mask;
    while (this.tags[i] !== EMPTY) i = (i + 1) & this.mask;
    this.write(i, dev, seq, ts, now);
  }

  /** Fills an empty slot. */
  write(i: number, dev: number, seq: number, ts: number, now: number): void {
    const s = this.slots;
    this.tags[i] = tagOf(hash(dev, seq, ts));
    s[i * SLOT] = dev;
    s[i * SLOT + 1] = seq;
    s[i * SLOT + 2] = ts;
    s[i * SLOT + 3] = now;
    this.count += 1;
  }

  /** Marks a slot forgotten: a tombstone, not EMPTY, so the entries probed past it stay reachable. */
  forget(i: number): void {
    this.tags[i] = FORGOTTEN;
  }
}

/** Equal device timestamps, where NaN stands for "no ts" and equals itself. */
export const sameTs = (a: number, b: number) => a === b || (a !== a && b !== b);

/** Mixes the device number and the low 32 bits of seq and ts (both integers; NaN mixes as 0). */
function hash(dev: number, seq: number, ts: number): number {
  let h = Math.imul(dev + 1, 0x9e3779b1);
  h = Math.imul(h ^ (seq >>> 0), 0x85ebca6b);
  h = Math.imul(h ^ (ts >>> 0), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

export function createDeduper(config: { ttlMs: number; maxEntries: number }): Deduper {
  const half = Math.max(1, Math.floor(config.maxEntries / 2));
  // At most `half` inserts per generation, so a table of 2 × half rounded up to a power of two stays under half full.
  const capacity = 2 ** Math.ceil(Math.log2(2 * half));
  let current = new Table(capacity);
  let previous = new Table(capacity);
  /** Devices as small numbers; only registered devices reach dedupe, so this is bounded by the fleet. */
  const devices = new Map<string, number>();
  const deviceNumber = (device: string) => {
    let n = devices.get(device);
    if (n === undefined) devices.set(device, (n = devices.size));
    return n;
  };

  const rotate = () => {
    const old = previous;
    previous = current;
    old.clear();
    current = old;
  };

  return {
    seen(device, seq, ts, now) {
      const dev = deviceNumber(device);
      const t = ts ?? NaN;
      const i = current.slotOf(dev, seq, t);
      if (i >= 0) {
        if (now - current.slots[i * SLOT + 3]! < config.ttlMs) return true;
        // Expired and seen anew: the window restarts from now.
        current.slots[i * SLOT + 3] = now;
        return false;
      }
      const j = previous.indexOf(dev, seq, t);
      if (j >= 0 && now - previous.slots[j * SLOT + 3]! < config.ttlMs) return true;
      if (current.count >= half) {
        rotate();
        current.insert(dev, seq, t, now);
      } else {
        current.write(-1 - i, dev, seq, t, now);
      }
      return false;
    },
    find(device, seq, ts, now) {
      const dev = devices.get(device);
      if (dev === undefined) return false;
      const t = ts ?? NaN;
      let i = current.indexOf(dev, seq, t);
      if (i >= 0) return now - current.slots[i * SLOT + 3]! < config.ttlMs;
      i = previous.indexOf(dev, seq, t);
      return i >= 0 && now - previous.slots[i * SLOT + 3]! < config.ttlMs;
    },
    add(device, seq, ts, now) {
      const dev = deviceNumber(device);
      const t = ts ?? NaN;
      const again = current.indexOf(dev, seq, t);
      if (again >= 0) {
        // Expired and seen anew: the window restarts from now.
        current.slots[again * SLOT + 3] = now;
        return;
      }
      if (current.count >= half) rotate();
      current.insert(dev, seq, t, now);
    },
    forget(device, seq, ts) {
      const dev = devices.get(device);
      if (dev === undefined) return;
      const t = ts ?? NaN;
      for (const table of [current, previous]) {
        const i = table.indexOf(dev, seq, t);
        if (i < 0) continue;
        // It still counts as used, so a table never holds more than `half` slots however many are forgotten.
        table.forget(i);
      }
    },
    size: () => current.count + previous.count,
  };
}
