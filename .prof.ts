import { chunduCommunity, type Device } from './core/index.js';
import { createProfiles } from './devices-sim/kinds/index.js';
import { catchUpProfiles } from './devices-sim/catch-up.js';
const DAY = 86_400_000;
const devices = chunduCommunity().devices.map((d) => ({ ...d, name: d.name ?? d.id, createdAt: 0 })) as unknown as Device[];
const end = Math.floor(Date.now() / 900_000) * 900_000, origin = end - 120 * DAY;
const t0 = performance.now();
await catchUpProfiles(createProfiles(devices, { seed: 2026, start: origin }).values(), origin, end);
console.log('catch-up 120 d', ((performance.now() - t0) / 1000).toFixed(1), 's');
