import { describe } from 'vitest';
import { postgresAvailability, usePostgresStores } from '../helpers/postgres.js';
import { serviceAccountStoreContract } from './service-accounts.contract.js';

const { skip } = postgresAvailability();

describe.skipIf(skip)(`PostgreSQL service-account store against Debian's PostgreSQL 15 ${skip ?? ''}`, () => {
  const harness = usePostgresStores();
  serviceAccountStoreContract('PostgreSQL', harness((db) => db.serviceAccounts));
});
