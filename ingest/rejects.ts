import type { Registry } from 'prom-client';
import { Counter } from 'prom-client';
import type { Reject, RejectLog, RejectQuery, RejectReason } from './contracts.js';
import { rejectReasons } from './contracts.js';

/**
 * The dead-letter log: a ring buffer of the newest refusals plus running totals by reason.
 * Bounded, so a device spraying garbage cannot exhaust memory; totals are never lost.
 */
export function createRejectLog(config: { capacity: number }, deps: { metrics: Registry }): RejectLog {
  const ring: Reject[] = [];
  let next = 0;
  const totals = Object.fromEntries(rejectReasons.map((r) => [r, 0])) as Record<RejectReason, number>;
  const counter = new Counter({
    name: 'anju_ingest_rejected_total',
    help: 'Messages refused by ingest, by reason (dead-lettered).',
    labelNames: ['reason'],
    registers: [deps.metrics],
  });
  for (const reason of rejectReasons) counter.inc({ reason }, 0);

  return {
    record(reject) {
      totals[reject.reason] += 1;
      counter.inc({ reason: reject.reason });
      if (ring.length < config.capacity) ring.push(reject);
      else ring[next] = reject;
      next = (next + 1) % config.capacity;
    },
    list(query: RejectQuery) {
      // Newest first: walk the ring backwards from the last write.
      const ordered: Reject[] = [];
      for (let i = 0; i < ring.length; i++) {
        const r = ring[(next - 1 - i + ring.length * 2) % ring.length];
        if (r === undefined) continue;
        if (query.reason && r.reason !== query.reason) continue;
        if (query.device && r.device !== query.device) continue;
        ordered.push(r);
      }
      return { items: ordered.slice(query.offset, query.offset + query.limit), total: ordered.length };
    },
    counts() {
      return { ...totals };
    },
  };
}
