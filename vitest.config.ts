import { defineConfig } from 'vitest/config'

// Tiers (docs/ARCHITECTURE.md §5, "Tests in tiers"). `npm test` (and CI) runs `unit`,
// then `e2e`:
// - unit: everything in-process or with small helper processes: unit, property,
//   vector and seeded-simulation tests (test/**/*.test.ts outside test/e2e/);
// - e2e: real validator processes over libp2p on 127.0.0.1 (test/e2e/), each test
//   with its own long timeout, run after the unit tier so that a failure there is
//   not buried among, or slowed by, the fast tests;
// - slow: large vectors and long runs (`npm run test:slow`), not part of `npm test`.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/e2e/**', 'test/**/*.slow.test.ts'],
          testTimeout: 30_000,
        },
      },
      {
        test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'], exclude: ['test/**/*.slow.test.ts'], testTimeout: 30_000 },
      },
      {
        test: { name: 'slow', include: ['test/**/*.slow.test.ts'], testTimeout: 600_000 },
      },
    ],
  },
})
