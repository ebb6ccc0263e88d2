import { embeddedStoreHarness } from './embedded-harness.js';
import { responsePolicyStoreContract } from './response-policies.contract.js';

responsePolicyStoreContract('embedded DuckDB', embeddedStoreHarness('responses', (db) => db.responses));
