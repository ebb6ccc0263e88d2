import { alarmStoreContract } from './alarm-store.contract.js';
import { embeddedStoreHarness } from './embedded-harness.js';

alarmStoreContract('embedded DuckDB', embeddedStoreHarness('alarm-store', (db) => db.alarms));
