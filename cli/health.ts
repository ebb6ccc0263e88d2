import type { IncidentsStats } from '../alerts/incidents/manager.js';
import type { HealthReport } from '../api/app.js';
import type { DiskStats, SpoolForwarderStats, SpoolStats } from '../storage/index.js';

interface HealthSources {
  spool: { stats(): SpoolStats };
  forwarder: { stats(): SpoolForwarderStats };
  pipeline: { stats(): { received: number; accepted: number; duplicates: number; rejected: number; refused: number } };
  latest: { size(): number };
  broker?: { connectedDevices(): number; readonly closed: boolean };
  disk?: { stats(): DiskStats };
  /** The incident manager: alarm events waiting to be correlated and stored, and a store refusing them. */
  incidents?: { stats(): IncidentsStats };
  /** Cluster mode: whether the state database (PostgreSQL) answers. */
  state?: { ping(): Promise<{ ok: true; ms: number } | { ok: false; error: string }> };
  /** Cluster mode: whether the broker backplane (Redis) answers. */
  backplane?: { ping(): Promise<{ ok: true; ms: number } | { ok: false; error: string }> };
  /** Cluster mode: whether this node leads the once-only schedules (escalation, reminders, monthly reports). */
  leader?: { isLeader(): boolean };
  clock?: () => number;
}

/**
 * `/health`: `down` (503) when the broker is closed; `degraded` while the store refuses writes
 * (readings wait in the spool), the incident store refuses a commit (alarm events wait to become
 * incidents: no page goes out), the disk is below its minimum free space, the spool is full (new QoS 1
 * publishes are refused), or in cluster mode PostgreSQL does not answer (the API answers 503, alarms
 * cannot be stored), or Redis does not answer (the broker backplane); otherwise `ok`. Each check carries the figures an operator asks for first.
 */
export function buildHealth(sources: HealthSources): () => Promise<HealthReport> {
  const clock = sources.clock ?? Date.now;
  return async () => {
    const s = sources.spool.stats();
    const f = sources.forwarder.stats();
    const oldest = s.oldestUnsentAt === undefined ? 0 : Math.max(0, clock() - s.oldestUnsentAt) / 1000;
    const p = sources.pipeline.stats();
    const checks: HealthReport['checks'] = {
      store: {
        status: f.retrying ? 'degraded' : 'ok',
        detail: `${f.forwarded} written, ${f.failures} write failures${f.retrying ? ', retrying (store unavailable)' : ''}, ${f.dropped} dropped as invalid`,
      },
      spool: {
        status: s.full ? 'degraded' : 'ok',
        detail: `${s.depth} readings waiting (oldest ${oldest.toFixed(1)} s), ${(s.bytes / 2 ** 20).toFixed(1)} of ${(s.quotaBytes / 2 ** 20).toFixed(0)} MiB${s.full ? ', FULL: refusing new QoS 1 publishes' : ''}, ${s.refusedTotal} refused`,
      },
      ingest: { status: 'ok', detail: `${p.received} received, ${p.accepted} accepted, ${p.rejected} dead-lettered, ${p.refused} refused, ${p.duplicates} duplicates` },
      devices: { status: 'ok', detail: `${sources.latest.size()} devices have reported` },
    };
    if (sources.disk) {
      const d = sources.disk.stats();
      const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
      const growth = d.growthBytesPerDay === undefined ? 'growth not yet known' : `growing ${mib(d.growthBytesPerDay)}/day`;
      const free = Number.isFinite(d.freeBytes) ? mib(d.freeBytes) : 'unknown';
      checks.disk = {
        status: d.full ? 'degraded' : 'ok',
        detail: `${free} free (minimum ${mib(d.minFreeBytes)}), data dir ${mib(d.storeBytes)}, ${growth}`
          + `${d.full ? ', FULL: telemetry writes refused, readings wait in the spool' : ''}, ${d.refusedTotal} writes refused`,
      };
    }
    if (sources.incidents) {
      const i = sources.incidents.stats();
      const refusing = i.refusingSince === undefined ? undefined : Math.max(0, clock() - i.refusingSince) / 1000;
      checks.incidents = {
        status: refusing === undefined ? 'ok' : 'degraded',
        detail: `${i.waiting} alarm events and actions waiting`
          + `${refusing === undefined ? '' : `, the incident store refusing for ${refusing.toFixed(0)} s (retrying): incidents, their pages and the control room's incident view wait`}`
          + `, ${i.refusedTotal} commits refused`,
      };
    }
    if (sources.state) {
      const ping = await sources.state.ping();
      const lead = sources.leader === undefined ? '' : sources.leader.isLeader()
        ? '; this node runs the cluster\'s escalation, reminders and monthly reports'
        : '; escalation, reminders and monthly reports run on the leading node';
      checks.state = ping.ok
        ? { status: 'ok', detail: `PostgreSQL answered in ${ping.ms.toFixed(1)} ms${lead}` }
        : { status: 'degraded', detail: `PostgreSQL does not answer (${ping.error}): state reads and writes are refused until it is back` };
    }
    if (sources.backplane) {
      const ping = await sources.backplane.ping();
      checks.backplane = ping.ok
        ? { status: 'ok', detail: `Redis answered in ${ping.ms.toFixed(1)} ms` }
        : { status: 'degraded', detail: `Redis does not answer (${ping.error}): messages between nodes and session changes wait until it is back` };
    }
    if (sources.broker) {
      checks.broker = { status: sources.broker.closed ? 'down' : 'ok', detail: `${sources.broker.connectedDevices()} devices connected` };
    }
    const statuses = Object.values(checks).map((c) => c.status);
    const status = statuses.includes('down') ? 'down' : statuses.includes('degraded') ? 'degraded' : 'ok';
    return { status, checks };
  };
}
