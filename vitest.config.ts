import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // Tests run against the sources, so `npm test` never depends on a stale build.
    // The package root and each sub-path export (`@upgradekit/core/migrate`) map to their face.
    alias: [
      {
        find: /^@upgradekit\/core$/,
        replacement: fileURLToPath(new URL('./packages/core/src/index.ts', import.meta.url)),
      },
      {
        find: /^@upgradekit\/core\/(?!schema\/|package\.json)([a-z-]+)$/,
        replacement: fileURLToPath(new URL('./packages/core/src/$1/index.ts', import.meta.url)),
      },
      // The shared test kit (fixtures, services, sshd, oracles), the same from every test folder.
      {
        find: /^#test-support$/,
        replacement: fileURLToPath(new URL('./test/support/index.ts', import.meta.url)),
      },
    ],
  },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    setupFiles: ['test/support/rpc-deadline.ts'],
    // Real services and real child processes: give them room, but not forever.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
