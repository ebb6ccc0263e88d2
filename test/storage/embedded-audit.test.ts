import { auditStoreContract } from './audit.contract.js';
import { embeddedStoreHarness } from './embedded-harness.js';

auditStoreContract('embedded DuckDB', embeddedStoreHarness('audit', (db) => db.audit));
