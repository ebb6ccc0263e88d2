import { describe } from 'vitest';
import { postgresAvailability, usePostgresStores } from '../helpers/postgres.js';
import { responsePolicyStoreContract } from './response-policies.contract.js';
import { rosterStoreContract } from './rosters.contract.js';

const { skip } = postgresAvailability();

describe.skipIf(skip)(`PostgreSQL rosters and response policies against Debian's PostgreSQL 15 ${skip ?? ''}`, () => {
  const harness = usePostgresStores();
  rosterStoreContract('PostgreSQL', harness((db) => db.rosters));
  responsePolicyStoreContract('PostgreSQL', harness((db) => db.responses));
});
