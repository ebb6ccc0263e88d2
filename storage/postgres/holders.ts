import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { createPool } from './connection.js';

/**
 * Which node holds which device, for a cluster (ANJU_REDIS_URL + ANJU_POSTGRES_URL): the node a device
 * is connected to — or was last, for one that disconnected cleanly or reports periodically — times
 * its silence (the offline rule) and keeps its rule state. A device no live node holds is timed by
 * nobody: one that never connected since the cluster started (its battery died during a restart), or
 * one whose node died while it was disconnected (an NB-IoT water meter between two reports sends no
 * Will). The leader claims those (`claimUnheld`) and times them itself (cli/alerts.ts).
 *
 * Each node writes a row in `cluster_nodes` and renews it every `beatMs`; a node not renewed within
 * `deadAfterMs` (PostgreSQL's clock, not the nodes') is dead. `device_holders` has one row per held
 * device. `hold` / `letGo` — a device connected here, or gone to another node — are batched and
 * written every `beatMs` (the last of them per device wins); a connection is authoritative, so `hold`
 * overwrites any row. `claimUnheld` takes only rows of no live node, in one statement, so a claim
 * never overwrites a live node's hold; a hold written after a claim wins, and the claimer finds out
 * with `heldElsewhere` and lets the device go.
 * A node that stops is treated as one that died: its rows stay and count as held by nobody after
 * `deadAfterMs`, by when most of its devices hold a row of the node they reconnected to (a rolling
 * restart does not hand every device to the leader in between). PostgreSQL unreachable: the writes wait
 * for the next beat, and a node that cannot renew for `deadAfterMs` counts as dead — the leader
 * then also times its devices, which at worst raises an offline alarm twice, once stored (one active
 * alarm per device and type, enforced by the database).
 */
export interface DeviceHolders {
  readonly nodeId: string;
  /** Registers this node and starts renewing it. */
  start(): Promise<void>;
  hold(deviceId: string): void;
  letGo(deviceId: string): void;
  /**
   * Every device this node holds, written again every beat where another node's row stands (cheap
   * where the row is this node's already): a node that could not write for a while — PostgreSQL away
   * from it, its devices claimed by the leader meanwhile — takes them back, and the leader lets them go.
   */
  track(holding: () => Iterable<string>): void;
  /** Claims for this node up to `limit` registered devices no live node holds (in id order); the ids claimed. */
  claimUnheld(limit: number): Promise<string[]>;
  /** The nodes that renewed their row within `deadAfterMs` (this one included, once started). */
  liveNodeIds(): Promise<string[]>;
  /** Of `ids`, those another node holds now. */
  heldElsewhere(ids: readonly string[]): Promise<string[]>;
  /** Writes what is pending now (tests, shutdown). */
  flush(): Promise<void>;
  /** Writes what is pending and ends the pool; the node counts as dead after `deadAfterMs`. Idempotent. */
  stop(): Promise<void>;
}

export function createDeviceHolders(
  config: { url: string; beatMs?: number; deadAfterMs?: number; nodeId?: string },
  deps: { logger: Logger },
): DeviceHolders {
  const beatMs = config.beatMs ?? 5_000;
  const deadAfterMs = config.deadAfterMs ?? 3 * beatMs;
  const nodeId = config.nodeId ?? `anju-${randomUUID()}`;
  const log = deps.logger.child({ part: 'storage', store: 'postgres', holders: nodeId });
  const pool = createPool({ url: config.url, max: 2, applicationName: 'anju-holders' });
  pool.on('error', (err) => log.debug({ err: { message: err.message } }, 'holders connection lost; reconnecting on the next beat'));
  const pending = new Map<string, boolean>();
  let holding: (() => Iterable<string>) | undefined;
  let timer: NodeJS.Timeout | undefined;
  let writing: Promise<void> = Promise.resolve();
  let failing = false;
  let stopped: Promise<void> | undefined;

  async function write(): Promise<void> {
    const batch = [...pending];
    pending.clear();
    const gone = batch.filter(([, h]) => !h).map(([id]) => id);
    // Sorted: two nodes' writes take the rows' locks in one order (no deadlock between them).
    const held = [...new Set([...batch.filter(([, h]) => h).map(([id]) => id), ...(holding ? holding() : [])])].sort();
    try {
      await pool.query('INSERT INTO cluster_nodes (node_id, seen_at) VALUES ($1, now()) ON CONFLICT (node_id) DO UPDATE SET seen_at = now()', [nodeId]);
      if (held.length > 0) {
        await pool.query(
          `INSERT INTO device_holders (device_id, node_id, since) SELECT unnest($1::text[]), $2, now()
           ON CONFLICT (device_id) DO UPDATE SET node_id = excluded.node_id, since = excluded.since
             WHERE device_holders.node_id <> excluded.node_id`,
          [held, nodeId],
        );
      }
      if (gone.length > 0) await pool.query('DELETE FROM device_holders WHERE node_id = $1 AND device_id = ANY($2::text[])', [nodeId, gone]);
      if (failing) log.info('device holders written again');
      failing = false;
    } catch (err) {
      // Kept for the next beat, unless a newer hold or let-go of the same device came meanwhile.
      for (const [id, h] of batch) if (!pending.has(id)) pending.set(id, h);
      if (!failing) log.warn({ err: { message: (err as Error).message } }, 'could not write which devices this node holds; retrying every beat');
      failing = true;
    }
  }

  const flush = (): Promise<void> => (writing = writing.then(write));

  return {
    nodeId,
    async start() {
      await flush();
      timer = setInterval(() => void flush(), beatMs);
      timer.unref();
    },
    hold(id) { pending.set(id, true); },
    track(fn) { holding = fn; },
    letGo(id) { pending.set(id, false); },
    async claimUnheld(limit) {
      // Under READ COMMITTED a row another node wrote meanwhile is seen by ON CONFLICT's WHERE: not taken.
      const { rows } = await pool.query<{ device_id: string }>(
        `WITH live AS (SELECT node_id FROM cluster_nodes WHERE seen_at >= now() - make_interval(secs => $1)),
         candidates AS (
           SELECT d.id FROM devices d LEFT JOIN device_holders h ON h.device_id = d.id
           WHERE h.device_id IS NULL OR h.node_id NOT IN (SELECT node_id FROM live)
           ORDER BY d.id LIMIT $2)
         INSERT INTO device_holders (device_id, node_id, since) SELECT id, $3, now() FROM candidates
         ON CONFLICT (device_id) DO UPDATE SET node_id = excluded.node_id, since = excluded.since
           WHERE device_holders.node_id NOT IN (SELECT node_id FROM live)
         RETURNING device_id`,
        [deadAfterMs / 1000, limit, nodeId],
      );
      return rows.map((r) => r.device_id).sort();
    },
    async liveNodeIds() {
      const { rows } = await pool.query<{ node_id: string }>('SELECT node_id FROM cluster_nodes WHERE seen_at >= now() - make_interval(secs => $1)', [deadAfterMs / 1000]);
      return rows.map((r) => r.node_id);
    },
    async heldElsewhere(ids) {
      if (ids.length === 0) return [];
      const { rows } = await pool.query<{ device_id: string }>(
        'SELECT device_id FROM device_holders WHERE device_id = ANY($1::text[]) AND node_id <> $2', [ids, nodeId],
      );
      return rows.map((r) => r.device_id);
    },
    flush,
    stop() {
      stopped ??= (async () => {
        if (timer) clearInterval(timer);
        await flush();
        await pool.end().catch(() => undefined);
      })();
      return stopped;
    },
  };
}
