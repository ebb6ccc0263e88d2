import { describe } from 'vitest';
import { postgresAvailability, usePostgresStores } from '../helpers/postgres.js';
import { accountStoreContract } from './accounts.contract.js';

const { skip } = postgresAvailability();

describe.skipIf(skip)(`PostgreSQL account store against Debian's PostgreSQL 15 ${skip ?? ''}`, () => {
  const harness = usePostgresStores();
  accountStoreContract('PostgreSQL', harness((db) => db.accounts));
});
