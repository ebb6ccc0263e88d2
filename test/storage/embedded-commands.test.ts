import { commandStoreContract } from './command-store.contract.js';
import { embeddedStoreHarness } from './embedded-harness.js';

commandStoreContract('embedded DuckDB', embeddedStoreHarness('commands', (db) => db.commands));
