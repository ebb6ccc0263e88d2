import { embeddedStoreHarness } from './embedded-harness.js';
import { rosterStoreContract } from './rosters.contract.js';

rosterStoreContract('embedded DuckDB', embeddedStoreHarness('rosters', (db) => db.rosters));
