import type { HealthReport } from '../api/app.js';

interface HealthSources {
  writer: { stats(): { buffered: number; written: number; failures: number } };
  pipeline: { stats(): { received: number; accepted: number; duplicates: number; rejected: number } };
  latest: { size(): number };
  broker?: { connectedDevices(): number; aedes: { closed: boolean } };
}

/**
 * `/health`: `down` (503) when the broker is closed; `degraded` while the store refuses writes and
 * readings wait in memory; otherwise `ok`. Each check carries the figures an operator asks for first.
 */
export function buildHealth(sources: HealthSources): () => Promise<HealthReport> {
  let lastFailures = 0;
  return async () => {
    const w = sources.writer.stats();
    const failing = w.failures > lastFailures && w.buffered > 0;
    lastFailures = w.failures;
    const checks: HealthReport['checks'] = {
      store: { status: failing ? 'degraded' : 'ok', detail: `${w.written} written, ${w.buffered} buffered, ${w.failures} write failures` },
      ingest: { status: 'ok', detail: (() => { const s = sources.pipeline.stats(); return `${s.received} received, ${s.accepted} accepted, ${s.rejected} refused, ${s.duplicates} duplicates`; })() },
      devices: { status: 'ok', detail: `${sources.latest.size()} devices have reported` },
    };
    if (sources.broker) {
      checks.broker = { status: sources.broker.aedes.closed ? 'down' : 'ok', detail: `${sources.broker.connectedDevices()} devices connected` };
    }
    const statuses = Object.values(checks).map((c) => c.status);
    const status = statuses.includes('down') ? 'down' : statuses.includes('degraded') ? 'degraded' : 'ok';
    return { status, checks };
  };
}
