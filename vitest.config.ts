import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores on CI: keep the number of workers (each may start brokers and DuckDB) small.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
