/**
 * Small helpers every part shares, with no I/O and nothing of ours imported. Not re-exported from
 * `core/index.ts`: the web UI bundles core's names, and must not bundle prom-client with them.
 */
export { backoffDelay, createInterruptible, sleep, type BackoffPolicy, type Interruptible } from './backoff.js';
export { getOrCreateMetric } from './metrics.js';
export { createSerialQueue, type SerialQueue } from './serial-queue.js';
