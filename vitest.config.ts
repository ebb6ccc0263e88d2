import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // expect.poll waits on real servers (a log-in's scrypt check, a DuckDB write, a page render in
    // Chromium): vitest's default 1 s is shorter than such a round trip on a loaded 2-core CI machine
    // (web-people's refused log-in missed it once). A poll that succeeds returns at once either way.
    expect: { poll: { timeout: 10_000 } },
    // Two cores on CI: keep the number of workers (each may start brokers and DuckDB) small.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
