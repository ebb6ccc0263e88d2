import { describe } from 'vitest';
import { postgresAvailability, usePostgresStores } from '../helpers/postgres.js';
import { incidentStoreContract } from './incident-store.contract.js';

const { skip } = postgresAvailability();

describe.skipIf(skip)(`PostgreSQL incident store against Debian's PostgreSQL 15 ${skip ?? ''}`, () => {
  const harness = usePostgresStores();
  incidentStoreContract('PostgreSQL', harness((db) => db.incidents));
});
