import { describe } from 'vitest';
import { postgresAvailability, usePostgresStores } from '../helpers/postgres.js';
import { auditStoreContract } from './audit.contract.js';

const { skip } = postgresAvailability();

describe.skipIf(skip)(`PostgreSQL audit store against Debian's PostgreSQL 15 ${skip ?? ''}`, () => {
  const harness = usePostgresStores();
  auditStoreContract('PostgreSQL', harness((db) => db.audit));
});
