import { accountStoreContract } from './accounts.contract.js';
import { embeddedStoreHarness } from './embedded-harness.js';

// Migrations landing out of order (a missing lower version applied under a higher one) are tested
// once, for every store, in embedded-migrations.test.ts.
accountStoreContract('embedded DuckDB', embeddedStoreHarness('accounts', (db) => db.accounts));
