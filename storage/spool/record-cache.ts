import type { SpoolRecord } from './contract.js';

/**
 * The newest committed records, kept in memory so a forwarder that keeps up never reads the disk:
 * always a contiguous suffix of the log (the oldest are forgotten first when over budget), so
 * "the cursor is at the cache head" means "everything from here on is in memory". A FIFO with a
 * moving head: Array#shift is O(n), and during an outage the cache holds hundreds of thousands.
 */
export function createRecordCache(budgetBytes: number) {
  let items: { rec: SpoolRecord; bytes: number }[] = [];
  let head = 0;
  let bytes = 0;

  const shift = (): SpoolRecord | undefined => {
    const it = items[head];
    if (!it) return undefined;
    items[head] = undefined as never; // let the readings be collected
    head += 1;
    bytes -= it.bytes;
    if (head > 1024 && head * 2 > items.length) { items = items.slice(head); head = 0; }
    return it.rec;
  };

  return {
    peek: (): SpoolRecord | undefined => items[head]?.rec,
    shift,
    /** Adds a committed record, then forgets the oldest while over budget (the reader goes to disk). */
    push(rec: SpoolRecord, size: number): void {
      items.push({ rec, bytes: size });
      bytes += size;
      while (bytes > budgetBytes && head < items.length) shift();
    },
  };
}
