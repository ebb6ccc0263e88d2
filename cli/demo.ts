import type { Logger } from 'pino';
import { chunduCommunity, type Device } from '../core/index.js';
import type { DeviceDirectory, StateStore } from '../storage/index.js';

export interface DeviceCredential {
  readonly device: Device;
  readonly secret: string;
}

/**
 * Puts the demo community into the registry (once; an operator's edits are kept) and gives the
 * in-process demo fleet fresh credentials. Secrets are stored only as scrypt hashes, so they cannot
 * be recovered on the next start: each start rotates the demo devices' secrets and hands the new
 * plaintexts to the simulator in memory — they are never printed or written to disk.
 */
export async function seedDemoCommunity(deps: { state: StateStore; directory: DeviceDirectory; logger: Logger }): Promise<{ credentials: DeviceCredential[];
  createdNow: boolean }> {
  const demo = chunduCommunity();
  // Once: an operator's changes to the site (its grid region, say) survive restarts.
  if (!(await deps.state.getSite(demo.site.id))) await deps.state.upsertSite(demo.site);
  for (const building of demo.buildings) await deps.state.upsertBuilding(building);
  const credentials: DeviceCredential[] = [];
  let created = 0;
  for (const input of demo.devices) {
    const existing = deps.directory.get(input.id);
    if (!existing) {
      credentials.push(await deps.directory.create(input));
      created += 1;
      continue;
    }
    const secret = await deps.directory.rotateSecret(input.id);
    if (secret) credentials.push({ device: existing, secret });
  }
  deps.logger.info({ site: demo.site.id, devices: credentials.length, created }, 'demo community ready');
  // Registered on this start: the first start of this data directory (for its recent history, demo-history.ts).
  return { credentials, createdNow: created === demo.devices.length };
}
