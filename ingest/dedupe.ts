/**
 * Drops repeats of a message a device already delivered: QoS 1 is at-least-once, so a device
 * that missed a PUBACK sends the same reading again (MQTT 3.1.1 §4.3.2). The key is the device,
 * its `seq` and its `ts` (when sent), so a device that reboots and restarts its counter at 0 is not
 * mistaken for a repeat once its timestamps move on. Entries expire after `ttlMs`; memory is
 * bounded by `maxEntries` (oldest evicted first — a Map iterates in insertion order).
 */
export interface Deduper {
  /** True if this message (its `dedupeKey`) was seen within the window; records it otherwise. */
  seen(key: string, now: number): boolean;
  /** Forgets a key, so a message that was not taken can be accepted when it is resent. */
  forget(key: string): void;
  size(): number;
}

/** The identity of a message for dedupe: device, its counter, and its own timestamp when it sent one. */
export function dedupeKey(device: string, seq: number, ts: number | undefined): string {
  return `${device}\u0000${seq}\u0000${ts ?? ''}`;
}

export function createDeduper(config: { ttlMs: number; maxEntries: number }): Deduper {
  const entries = new Map<string, number>();

  function evict(now: number): void {
    for (const [key, at] of entries) {
      if (entries.size <= config.maxEntries && now - at < config.ttlMs) break;
      entries.delete(key);
    }
  }

  // Keyed by the caller's dedupeKey, built once per message (ingest also keys its in-delivery map on it).
  return {
    forget(key) {
      entries.delete(key);
    },
    seen(key, now) {
      const at = entries.get(key);
      if (at !== undefined && now - at < config.ttlMs) return true;
      entries.delete(key);
      entries.set(key, now);
      if (entries.size > config.maxEntries) evict(now);
      return false;
    },
    size: () => entries.size,
  };
}
