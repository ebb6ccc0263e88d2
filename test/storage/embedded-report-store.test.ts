import { embeddedStoreHarness } from './embedded-harness.js';
import { reportStoreContract } from './report-store.contract.js';

reportStoreContract('embedded DuckDB', embeddedStoreHarness('report-store', (db) => db.reports));
