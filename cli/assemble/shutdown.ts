import type { Logger } from 'pino';

/** Bounded: a store that never recovers must not keep the process from exiting. */
const STEP_TIMEOUT_MS = 20_000;

export interface Shutdown {
  /** What brings messages in: stopped first, in the order added (`first` puts a step before the others). */
  input(step: () => Promise<void>, options?: { first?: boolean }): void;
  /**
   * A part: stopped after the inputs, in reverse order of adding (the last started stops first).
   * `composite`: a step that is itself a Shutdown, whose steps are bounded one by one (the hub).
   */
  part(step: () => Promise<void>, options?: { composite?: boolean }): void;
  /** Runs every step once, each bounded and none stopping the next on failure. */
  run(): Promise<void>;
}

/**
 * The stop order of a composition: nothing in flight is lost when what brings messages in stops
 * first (the fleet, then the broker — which refuses new publishes and answers those in flight —
 * then the ingest source), then the parts in reverse start order (the writer's flush before the store).
 */
export function createShutdown(logger: Logger): Shutdown {
  type Step = { stop: () => Promise<void>; bounded: boolean };
  const inputs: Step[] = [];
  const parts: Step[] = [];
  return {
    input(stop, options) {
      if (options?.first) inputs.unshift({ stop, bounded: true });
      else inputs.push({ stop, bounded: true });
    },
    part(stop, options) {
      parts.push({ stop, bounded: !options?.composite });
    },
    async run() {
      for (const step of [...inputs.splice(0), ...parts.splice(0).reverse()]) {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<never>((_, reject) => {
          if (step.bounded) timer = setTimeout(() => reject(new Error('timed out after 20 s')), STEP_TIMEOUT_MS);
        });
        try {
          await Promise.race([step.stop(), timeout]);
        } catch (err) {
          logger.error({ err }, 'error while stopping; continuing with the next part');
        } finally {
          clearTimeout(timer);
        }
      }
    },
  };
}
