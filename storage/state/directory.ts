import { createHash } from 'node:crypto';
import type { Device, DeviceInput, DevicePatch } from '../../core/index.js';
import { generateSecret, hashSecret, verifyNothing, verifySecret } from '../../core/secrets.js';
import { DuplicateError, type DeviceDirectory, type StateStore } from './contract.js';

/**
 * Successful verifications are remembered for 5 minutes so that a fleet reconnecting at once (broker
 * restart, network flap) costs one scrypt per device, not one per attempt (~30 ms each, see
 * core/secrets). Only successes are cached; a wrong secret always pays the full scrypt. The key holds
 * sha256(secret), never the secret. 10,000 entries of ~150 bytes bound it near 1.5 MB.
 */
const VERIFY_TTL_MS = 5 * 60_000;
const VERIFY_CACHE_MAX = 10_000;

const DEFAULT_TIMEZONE = 'Asia/Shanghai';

export function createDeviceDirectory(deps: {
  state: StateStore;
  clock?: () => number;
  /** True when the id belongs to something else that authenticates with it (a service account). */
  isTaken?: (id: string) => boolean;
}): DeviceDirectory {
  const { state } = deps;
  const clock = deps.clock ?? Date.now;
  const devices = new Map<string, Device>();
  /** key → expiry; Map order is insertion order, so the first key is the oldest entry. */
  const verified = new Map<string, { id: string; expires: number }>();
  /** Bumped on rotate/delete, so a verification in flight across the change is not cached. */
  const generation = new Map<string, number>();
  /** Sites and buildings known to exist, so provisioning a fleet does not look them up per device. */
  const ensured = new Set<string>();

  /**
   * Ids changed in memory while a load()'s scan runs (one set per load in flight): the scan's snapshot
   * may be older than those changes (a resync after a reconnect, racing the notifications of other
   * nodes' commits), so the load keeps what memory has for them instead of the scan's copy.
   */
  const changedDuringLoad = new Set<Set<string>>();
  const setDevice = (id: string, d: Device | undefined) => {
    if (d) devices.set(id, d);
    else devices.delete(id);
    for (const changed of changedDuringLoad) changed.add(id);
  };

  const digest = (secret: string) => createHash('sha256').update(secret).digest('base64url');
  const forgetVerified = (id: string) => {
    generation.set(id, (generation.get(id) ?? 0) + 1);
    for (const [k, v] of verified) if (v.id === id) verified.delete(k);
  };

  /**
   * A secret we just generated for a new device is verified by construction: remembering it spares
   * the device's first CONNECT a scrypt, so a fleet provisioned and connected at once (`anju sim
   * --api`) costs one scrypt per device instead of two. (Not after a rotation: two concurrent
   * rotations could leave the loser's secret cached.)
   */
  const remember = (id: string, secret: string) => {
    if (verified.size >= VERIFY_CACHE_MAX) {
      const oldest = verified.keys().next().value;
      if (oldest !== undefined) verified.delete(oldest);
    }
    verified.set(`${id}\u0000${digest(secret)}`, { id, expires: clock() + VERIFY_TTL_MS });
  };

  /** Creates the device's site and building (name = id) if missing, so the registry never points nowhere. */
  async function ensurePlace(site: string, building: string): Promise<void> {
    const siteKey = `s\u0000${site}`;
    if (!ensured.has(siteKey)) {
      if (!(await state.getSite(site))) await state.upsertSite({ id: site, name: site, timezone: DEFAULT_TIMEZONE });
      ensured.add(siteKey);
    }
    const buildingKey = `b\u0000${site}\u0000${building}`;
    if (ensured.has(buildingKey)) return;
    // The StateStore has no getBuilding; a site's buildings are few, so page through them.
    const limit = 500;
    for (let offset = 0; ; offset += limit) {
      const page = await state.listBuildings(site, { limit, offset });
      if (page.items.some((b) => b.id === building)) break;
      if (offset + limit >= page.total) {
        await state.upsertBuilding({ id: building, site, name: building });
        break;
      }
    }
    ensured.add(buildingKey);
  }

  return {
    async load() {
      const changed = new Set<string>();
      changedDuringLoad.add(changed);
      let all: Device[];
      try {
        all = await state.allDevices();
      } finally {
        changedDuringLoad.delete(changed);
      }
      const newer = new Map([...changed].map((id) => [id, devices.get(id)] as const));
      devices.clear();
      for (const d of all) if (!changed.has(d.id)) devices.set(d.id, d);
      for (const [id, d] of newer) if (d) devices.set(id, d);
    },
    get: (id) => devices.get(id),
    list: () => [...devices.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),

    async create(input: DeviceInput) {
      if (devices.has(input.id)) throw new DuplicateError(`device ${input.id} already exists`);
      if (deps.isTaken?.(input.id)) throw new DuplicateError(`${input.id} is a service account; a device needs an id of its own (the MQTT username names one principal)`);
      await ensurePlace(input.site, input.building);
      const secret = generateSecret();
      const gen = generation.get(input.id) ?? 0;
      const device = await state.createDevice(input, await hashSecret(secret), clock());
      setDevice(device.id, device);
      // Unless a delete or rotation of this id ran meanwhile.
      if ((generation.get(device.id) ?? 0) === gen) remember(device.id, secret);
      return { device, secret };
    },
    async update(id: string, patch: DevicePatch) {
      const cur = devices.get(id);
      if (cur && (patch.site !== undefined || patch.building !== undefined)) {
        await ensurePlace(patch.site ?? cur.site, patch.building ?? cur.building);
      }
      const device = await state.updateDevice(id, patch);
      setDevice(id, device);
      return device;
    },
    async delete(id) {
      const deleted = await state.deleteDevice(id);
      setDevice(id, undefined);
      forgetVerified(id);
      return deleted;
    },
    async rotateSecret(id) {
      if (!devices.has(id) && !(await state.getDevice(id))) return undefined;
      const secret = generateSecret();
      await state.setDeviceSecretHash(id, await hashSecret(secret));
      forgetVerified(id);
      return secret;
    },
    async refresh(id, secretChanged) {
      if (secretChanged) forgetVerified(id);
      setDevice(id, await state.getDevice(id));
    },
    async verify(id, secret) {
      // An unknown id costs the same lookup and scrypt as a wrong secret, so the answer time does
      // not tell which ids exist; the broker's per-IP connect rate bounds what a flood can cost.
      if (!devices.has(id)) {
        await state.getDeviceSecretHash(id);
        return verifyNothing(secret);
      }
      const key = `${id}\u0000${digest(secret)}`;
      const now = clock();
      const hit = verified.get(key);
      if (hit && hit.expires > now) return true;
      if (hit) verified.delete(key);

      const gen = generation.get(id) ?? 0;
      const hash = await state.getDeviceSecretHash(id);
      if (hash === undefined || !(await verifySecret(secret, hash))) return false;
      if ((generation.get(id) ?? 0) === gen && devices.has(id)) remember(id, secret);
      return true;
    },
  };
}
