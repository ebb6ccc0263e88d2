import type { Logger } from 'pino';
import { createSerialQueue } from '../core/util/index.js';
import type { AlarmStore } from './contracts.js';

/**
 * The rules' persisted state (windows, hold timers, CO dose, fill regressions, last-seen times),
 * held in memory and written behind: every key a rule touched is marked dirty and written within
 * `flushMs`, and everything dirty is written on close — so a restart resumes windows and timers
 * instead of losing an alarm or raising it twice. One flush runs at a time.
 */
export interface RuleStateTable {
  load(): Promise<void>;
  /** The value under `key`, created by `init` when absent; marks the key dirty (rules mutate in place). */
  get<T>(key: string, init: () => T): T;
  /** Schedules a write of dirty keys. */
  touch(): void;
  /** Writes everything dirty now. */
  flush(): Promise<void>;
  /**
   * A device taken over from another node (cluster): its `keys` become what the store holds —
   * `loaded` — and a key the store does not hold is dropped (this node's copy is older).
   */
  take(keys: readonly string[], loaded: ReadonlyMap<string, unknown>): void;
  /** A device handed to another node: its keys leave memory (flush first: what is dirty would be lost). */
  forget(keys: readonly string[]): void;
  close(): Promise<void>;
}

export function createRuleStateTable(deps: { store: AlarmStore; logger: Logger; flushMs: number }): RuleStateTable {
  const values = new Map<string, unknown>();
  const dirty = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  const writes = createSerialQueue();

  const writeDirty = async () => {
    if (dirty.size === 0) return;
    // The live objects, not copies: the store serialises them before its first await (its
    // contract), and rules mutate them only in later turns.
    const changes = new Map<string, unknown>();
    for (const k of dirty) changes.set(k, values.get(k) ?? null);
    dirty.clear();
    try {
      await deps.store.saveRuleState(changes);
    } catch (err) {
      for (const k of changes.keys()) dirty.add(k);
      deps.logger.error({ err, keys: changes.size }, 'rule state write failed; kept dirty and retried on the next flush');
      throw err;
    }
  };
  const flush = (): Promise<void> => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    return writes.run(writeDirty);
  };

  return {
    async load() {
      const loaded = await deps.store.loadRuleState();
      values.clear();
      for (const [k, v] of loaded) values.set(k, v);
    },
    get<T>(key: string, init: () => T): T {
      let v = values.get(key) as T | undefined;
      if (v === undefined) {
        v = init();
        values.set(key, v);
      }
      dirty.add(key);
      return v;
    },
    touch() {
      if (timer || dirty.size === 0) return;
      timer = setTimeout(() => void flush().catch(() => undefined), deps.flushMs);
      timer.unref();
    },
    flush,
    take(keys, loaded) {
      for (const k of keys) {
        dirty.delete(k);
        if (loaded.has(k)) values.set(k, loaded.get(k));
        else values.delete(k);
      }
    },
    forget(keys) {
      for (const k of keys) {
        dirty.delete(k);
        values.delete(k);
      }
    },
    async close() {
      await flush();
    },
  };
}
