/**
 * Drops repeats of a message a device already delivered: QoS 1 is at-least-once, so a device
 * that missed a PUBACK sends the same reading again (MQTT 3.1.1 §4.3.2). A message is identified by
 * its device, its `seq` and its `ts` (when sent), so a device that reboots and restarts its counter
 * at 0 is not mistaken for a repeat once its timestamps move on. Entries expire after `ttlMs`;
 * memory is bounded by `maxEntries`: two generations of at most `maxEntries / 2` entries each, the
 * older dropped whole when the newer fills, so at least the last `maxEntries / 2` messages are
 * always remembered.
 *
 * Why generations, not one Map evicting its oldest key per insert: V8 leaves a deleted Map entry as
 * a hole until the table is rebuilt, and iteration from the start walks every hole, so once full
 * each insert's eviction cost grew with the holes before it — 35 µs per message after 100,000
 * evictions, 160–550 µs after 200,000 (measured, node 20). Dropping a generation is O(1).
 *
 * Why a Map per device keyed by the numeric seq, not one Map keyed by a `device|seq|ts` string: the
 * string was built, flattened and hashed per message and then probed in a table of up to 100,000
 * keys, and every key survived into V8's old generation for the whole ttl — dedupe was the largest
 * part of the pipeline's own CPU (BENCHMARKS.md, 2026-12-05). A device's map is small and its seq
 * keys are small integers; the entry also carries the message's delivery while it is in flight, so
 * ingest needs no second map to make a repeat wait for the original's fate.
 */

/** One remembered message. */
export interface DedupeEntry {
  /** The device's own ts, or NaN when it sent none. */
  readonly ts: number;
  /** When it was first seen (the window runs from here). */
  at: number;
  /** Its delivery while in flight: a repeat arriving meanwhile waits for it (set and cleared by ingest). */
  delivery: Promise<void> | undefined;
  /** Another message with the same seq and a different ts (a rebooted counter). */
  next: DedupeEntry | undefined;
}

export interface Deduper {
  /** The entry of this message if it was seen within the window, else undefined. */
  find(device: string, seq: number, ts: number | undefined, now: number): DedupeEntry | undefined;
  /** Records this message as seen now (call after `find` said it is new) and returns its entry. */
  add(device: string, seq: number, ts: number | undefined, now: number): DedupeEntry;
  /** Forgets a message, so one that was not taken is accepted when it is resent. */
  forget(device: string, seq: number, ts: number | undefined): void;
  size(): number;
}

interface Generation {
  readonly devices: Map<string, Map<number, DedupeEntry>>;
  size: number;
}

const newGeneration = (): Generation => ({ devices: new Map(), size: 0 });

/** NaN stands for "no ts" and equals itself here. */
const sameTs = (a: number, b: number) => a === b || (a !== a && b !== b);

function entryIn(g: Generation, device: string, seq: number, ts: number): DedupeEntry | undefined {
  for (let e = g.devices.get(device)?.get(seq); e; e = e.next) if (sameTs(e.ts, ts)) return e;
  return undefined;
}

export function createDeduper(config: { ttlMs: number; maxEntries: number }): Deduper {
  const half = Math.max(1, Math.floor(config.maxEntries / 2));
  let current = newGeneration();
  let previous = newGeneration();

  return {
    find(device, seq, ts, now) {
      const t = ts ?? NaN;
      const e = entryIn(current, device, seq, t) ?? entryIn(previous, device, seq, t);
      return e !== undefined && now - e.at < config.ttlMs ? e : undefined;
    },
    add(device, seq, ts, now) {
      const t = ts ?? NaN;
      const again = entryIn(current, device, seq, t);
      if (again) {
        // Expired and seen anew: the window restarts from now.
        again.at = now;
        again.delivery = undefined;
        return again;
      }
      if (current.size >= half) {
        previous = current;
        current = newGeneration();
      }
      let bySeq = current.devices.get(device);
      if (!bySeq) current.devices.set(device, (bySeq = new Map()));
      const entry: DedupeEntry = { ts: t, at: now, delivery: undefined, next: bySeq.get(seq) };
      bySeq.set(seq, entry);
      current.size += 1;
      return entry;
    },
    forget(device, seq, ts) {
      const t = ts ?? NaN;
      for (const g of [current, previous]) {
        const bySeq = g.devices.get(device);
        let e = bySeq?.get(seq);
        if (!bySeq || !e) continue;
        if (sameTs(e.ts, t)) {
          if (e.next) bySeq.set(seq, e.next);
          else bySeq.delete(seq);
          g.size -= 1;
          continue;
        }
        for (; e.next; e = e.next) {
          if (!sameTs(e.next.ts, t)) continue;
          e.next = e.next.next;
          g.size -= 1;
          break;
        }
      }
    },
    size: () => current.size + previous.size,
  };
}
