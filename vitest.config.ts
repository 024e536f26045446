import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // Tests run against the sources, so `npm test` never depends on a stale build.
    alias: {
      '@upgradekit/core': fileURLToPath(new URL('./packages/core/src/index.ts', import.meta.url)),
      // The shared test kit (fixtures, services, sshd, oracles), the same from every test folder.
      '#test-support': fileURLToPath(new URL('./test/support/index.ts', import.meta.url)),
    },
  },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // Real services and real child processes: give them room, but not forever.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
