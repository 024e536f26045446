import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.js';

// `npm run test:soak`: the exhaustive trials (every boundary, many SIGKILLs) that `npm test` samples.
export default mergeConfig(
  base,
  defineConfig({ test: { include: ['test/soak/**/*.soak.ts'], testTimeout: 300_000 } }),
);
