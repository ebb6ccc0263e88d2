import { embeddedStoreHarness } from './embedded-harness.js';
import { stateStoreContract } from './state-store.contract.js';

stateStoreContract('embedded DuckDB', embeddedStoreHarness('state-store', (db) => db.state));
