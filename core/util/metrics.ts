import type { Metric, Registry } from 'prom-client';

/**
 * Returns the metric already registered under `name`, or registers the one `make` builds.
 * prom-client refuses a second registration of a name ("already registered"), and one registry
 * may outlive the part that registered it: a broker, spool or API restarted in the same process
 * (a supervisor, the tests) keeps counting on the metric it had.
 *
 * With `labelNames`, an existing metric must have at least those labels: prom-client would only
 * throw on the first `inc()` with an unknown label, far from the wiring that got it wrong.
 */
export function getOrCreateMetric<T extends Metric>(registry: Registry, name: string, make: () => T, labelNames?: readonly string[]): T {
  const existing = registry.getSingleMetric(name) as (T & { labelNames?: readonly string[] }) | undefined;
  if (!existing) return make();
  if (labelNames) {
    const have = existing.labelNames ?? [];
    if (!labelNames.every((l) => have.includes(l))) {
      throw new Error(`metric ${name} is already registered with labels [${have.join(', ')}], this part needs [${labelNames.join(', ')}]`);
    }
  }
  return existing;
}
