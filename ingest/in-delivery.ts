import { sameTs } from './dedupe.js';

/**
 * Deliveries not settled yet, by device, seq and ts: a repeat that arrives while its original is on
 * its way to the spool (a QoS 1 resend after a reconnect) waits for the original's fate. Entries live
 * only as long as a delivery (milliseconds), keyed without building a string per message.
 */
interface InFlight {
  readonly ts: number;
  readonly delivery: Promise<void>;
}

export function createInDelivery() {
  const byDevice = new Map<string, Map<number, InFlight[]>>();
  return {
    get(device: string, seq: number, ts: number | undefined): Promise<void> | undefined {
      const t = ts ?? NaN;
      return byDevice.get(device)?.get(seq)?.find((f) => sameTs(f.ts, t))?.delivery;
    },
    set(device: string, seq: number, ts: number | undefined, delivery: Promise<void>): void {
      let bySeq = byDevice.get(device);
      if (!bySeq) byDevice.set(device, (bySeq = new Map()));
      const list = bySeq.get(seq);
      const entry = { ts: ts ?? NaN, delivery };
      if (list) list.push(entry);
      else bySeq.set(seq, [entry]);
    },
    /** Removes this delivery (not a later one of the same message). */
    delete(device: string, seq: number, delivery: Promise<void>): void {
      const bySeq = byDevice.get(device);
      const list = bySeq?.get(seq);
      if (!bySeq || !list) return;
      const i = list.findIndex((f) => f.delivery === delivery);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) bySeq.delete(seq);
      if (bySeq.size === 0) byDevice.delete(device);
    },
  };
}
