import { kinds, type KindPayload } from '../../core/index.js';
import type { ScenarioFactory } from './contract.js';
import { durationOf, endOf, param, targetMatcher, unitHash } from './common.js';

/**
 * A device sending garbage: a firmware bug, a half-flashed update or a gateway mangling frames.
 * The shapes are the refusals ingest's own fixtures (test/fixtures/ingest/*) were written for:
 * truncated JSON, a `NaN` literal (not JSON), a JSON array, the main field as a string, a value out
 * of its physical range, and bytes that are not text at all. Every one must be dead-lettered by
 * ingest with a reason, and none may reach the store or the alerts engine.
 * A share `share` of the messages (default 0.5: every other one, by the device's `seq`) is garbage,
 * so the device keeps enough good reports not to be called offline; `share` 1 makes every message
 * garbage. Lasts until the fleet stops, or `durationMs`. Targets every kind.
 */
export const garbage: ScenarioFactory = (target, startAt, options) => {
  const duration = durationOf(options, undefined);
  const share = Math.min(1, Math.max(0, param(options, 'share', 0.5)));
  return {
    name: `garbage:${target}`,
    startAt,
    endAt: endOf(startAt, duration),
    appliesTo: targetMatcher(target, ['smoke_detector', 'smart_bin', 'water_meter', 'power_meter'], options),
    apply: (payload: KindPayload) => payload,
    raw(elapsedMs, device, payload): string | undefined {
      if (duration !== undefined && elapsedMs >= duration) return undefined;
      const n = typeof payload.seq === 'number' ? payload.seq : Math.floor(elapsedMs / 1000);
      // Garbage when the running count of garbage messages n·share steps up: an even spread.
      if (Math.floor((n + 1) * share) === Math.floor(n * share)) return undefined;
      const main = kinds[device.kind].mainField;
      const json = JSON.stringify(payload);
      const variants = [
        () => json.slice(0, Math.max(1, Math.floor(json.length / 2))),
        () => `{"ts":${payload.ts ?? 0},"${main}":NaN}`,
        () => `[${json}]`,
        () => JSON.stringify({ ...payload, [main]: String(payload[main]) }),
        () => JSON.stringify({ ...payload, [main]: -1 }),
        () => '\u0000\u0001\u0002\u00ff\u00fe garbage',
      ];
      const pick = variants[Math.floor(unitHash('garbage', device.id, n) * variants.length)] ?? variants[0];
      return pick ? pick() : json;
    },
  };
};
