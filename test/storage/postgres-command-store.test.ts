import { describe } from 'vitest';
import { postgresAvailability, usePostgresStores } from '../helpers/postgres.js';
import { commandStoreContract } from './command-store.contract.js';

const { skip } = postgresAvailability();

describe.skipIf(skip)(`PostgreSQL command store against Debian's PostgreSQL 15 ${skip ?? ''}`, () => {
  const harness = usePostgresStores();
  commandStoreContract('PostgreSQL', harness((db) => db.commands));
});
