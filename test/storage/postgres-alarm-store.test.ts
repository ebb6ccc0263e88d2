import { describe } from 'vitest';
import { postgresAvailability, usePostgresStores } from '../helpers/postgres.js';
import { alarmStoreContract } from './alarm-store.contract.js';

const { skip } = postgresAvailability();

describe.skipIf(skip)(`PostgreSQL alarm store against Debian's PostgreSQL 15 ${skip ?? ''}`, () => {
  const harness = usePostgresStores();
  alarmStoreContract('PostgreSQL', harness((db) => db.alarms));
});
