export * from './contract.js';
export { crc32 } from './crc32.js';
export { createSpool, type SpoolConfig, type SpoolDeps } from './spool.js';
export { createSpoolForwarder, type SpoolForwarder, type SpoolForwarderConfig, type SpoolForwarderDeps, type SpoolForwarderStats } from './forwarder.js';
