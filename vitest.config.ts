import { defineConfig } from 'vitest/config'

// Tiers (DESIGN.md §4.11): `unit` is what `npm test` and CI run; slower tiers
// (long simulations, e2e over real libp2p) get their own projects and scripts.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/**/*.slow.test.ts', 'test/e2e/**'],
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
