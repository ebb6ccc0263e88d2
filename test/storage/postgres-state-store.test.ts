import { describe } from 'vitest';
import { postgresAvailability, usePostgresStores } from '../helpers/postgres.js';
import { stateStoreContract } from './state-store.contract.js';

const { skip } = postgresAvailability();

describe.skipIf(skip)(`PostgreSQL state store against Debian's PostgreSQL 15 ${skip ?? ''}`, () => {
  const harness = usePostgresStores();
  stateStoreContract('PostgreSQL', harness((db) => db.state));
});
