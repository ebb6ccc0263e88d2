import { embeddedStoreHarness } from './embedded-harness.js';
import { incidentStoreContract } from './incident-store.contract.js';

incidentStoreContract('embedded DuckDB', embeddedStoreHarness('incidents', (db) => db.incidents));
