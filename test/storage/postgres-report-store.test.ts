import { describe } from 'vitest';
import { postgresAvailability, usePostgresStores } from '../helpers/postgres.js';
import { reportStoreContract } from './report-store.contract.js';

const { skip } = postgresAvailability();

describe.skipIf(skip)(`PostgreSQL report store against Debian's PostgreSQL 15 ${skip ?? ''}`, () => {
  const harness = usePostgresStores();
  reportStoreContract('PostgreSQL', harness((db) => db.reports));
});
