/** The composition root's building blocks: the CLI, the benchmarks and the tests assemble Anju with these. */
export { assembleBroker, displayHost, type AssembleBrokerDeps, type AssembledBroker } from './broker.js';
export { assembleHub, type AssembleHubDeps, type AssembledHub } from './hub.js';
export { assembleIngest, type AssembledIngest } from './ingest.js';
export { createShutdown, type Shutdown } from './shutdown.js';
