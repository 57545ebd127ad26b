import { defineConfig } from 'vitest/config'

// Tiers (docs/ARCHITECTURE.md §5, "Tests in tiers"): `unit` is what `npm test` and CI run, including the
// e2e tests (test/e2e/: real validator processes over libp2p on 127.0.0.1, with
// per-test timeouts); long runs and large vectors get their own project.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          // test/e2e/ runs real validator processes; its tests set their own (long) timeouts
          exclude: ['test/**/*.slow.test.ts'],
          testTimeout: 30_000,
        },
      },
      {
        // large vectors and long runs: `npm run test:slow`
        test: { name: 'slow', include: ['test/**/*.slow.test.ts'], testTimeout: 600_000 },
      },
    ],
  },
})
