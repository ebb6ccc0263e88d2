import type { Reading } from '../../core/index.js';
import type { DeviceDirectory, TelemetryStore } from '../../storage/index.js';

/**
 * A store that reports each batch after the inner store acknowledged it (DuckDB's commit,
 * InfluxDB's 204): every bench measures publish → stored at this one boundary.
 */
export function timedStore(inner: TelemetryStore, onStored: (batch: readonly Reading[], now: number) => void): TelemetryStore {
  return {
    name: inner.name,
    latest: (d) => inner.latest(d),
    latestAll: () => inner.latestAll(),
    series: (q) => inner.series(q),
    close: () => inner.close(),
    async write(batch) {
      await inner.write(batch);
      onStored(batch, Date.now());
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
