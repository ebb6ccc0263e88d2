import { loadConfig, type AnjuConfig } from '../../core/config.js';
import type { Reading } from '../../core/index.js';
import type { DeviceDirectory, EmbeddedDatabase, TelemetryStore } from '../../storage/index.js';
import { storedReportKinds } from '../../storage/index.js';

/**
 * A store that reports each batch after the inner store acknowledged it (DuckDB's commit,
 * InfluxDB's 204): every bench measures publish → stored at this one boundary.
 */
export function timedStore(inner: TelemetryStore, onStored: (batch: readonly Reading[], now: number, startedAt: number) => void): TelemetryStore {
  return {
    name: inner.name,
    latest: (d) => inner.latest(d),
    latestAll: () => inner.latestAll(),
    series: (q) => inner.series(q),
    close: () => inner.close(),
    async write(batch, encoded) {
      const startedAt = Date.now();
      await inner.write(batch, encoded);
      onStored(batch, Date.now(), startedAt);
    },
  };
}

/** `n` smoke detectors `${prefix}-0…` over four buildings, with their one-time secrets. */
export async function provisionDetectors(directory: DeviceDirectory, n: number, prefix = 'bench'): Promise<Array<{ id: string; secret: string }>> {
  const devices: Array<{ id: string; secret: string }> = [];
  for (let i = 0; i < n; i++) {
    const { device, secret } = await directory.create({ id: `${prefix}-${i}`, kind: 'smoke_detector', site: 'bench', building: `b${i % 4}` });
    devices.push({ id: device.id, secret });
  }
  return devices;
}

/**
 * What each bench's platform runs with: the defaults, on loopback with ephemeral ports and a
 * connect rate that does not hold back N publishers from one address, over the `ANJU_*` settings
 * of the bench's own environment (so one setting can be compared:
 * `ANJU_STORE_WRITE_INTERVAL_MS=10 npm run bench:alerts`; the data dir and ports stay the bench's);
 * `env` adds or overrides.
 */
export function benchConfig(dataDir: string, env: Record<string, string> = {}): AnjuConfig {
  return loadConfig({
    ...givenSettings(), ANJU_DATA_DIR: dataDir, ANJU_HOST: '127.0.0.1', ANJU_MQTT_PORT: '0', ANJU_WS_PORT: '0', ANJU_HTTP_PORT: '0', ANJU_CONNECT_RATE: '100000', ...env,
  });
}

/** The `ANJU_*` settings in the bench's environment, which its platform runs with (benches print them: `printGivenSettings`). */
export function givenSettings(): Record<string, string> {
  return Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[0].startsWith('ANJU_') && e[1] !== undefined));
}

/** A bench header's line naming the `ANJU_*` settings the platform runs with, when any are given. */
export function printGivenSettings(): void {
  const settings = Object.entries(givenSettings());
  if (settings.length > 0) console.log(`  settings given to Anju: ${settings.map(([k, v]) => `${k}=${v}`).join(' ')}`);
}

/**
 * A deployment in mid-month, not one catching up: a freshly created site would otherwise have last
 * month's reports generated when the hub starts (every device's values read), during the run.
 */
export async function storeThisMonthsReports(db: EmbeddedDatabase, site = 'bench'): Promise<void> {
  const now = Date.now();
  for (const kind of storedReportKinds) {
    await db.reports.save({ id: `${site}-${kind}`, kind, site, from: now - 86_400_000, to: now, createdAt: now, origin: 'schedule', data: {} });
  }
}
