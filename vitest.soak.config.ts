import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

// `npm run test:soak`: the exhaustive trials (every boundary, many SIGKILLs) that `npm test` samples.
// The include is replaced, not merged: mergeConfig would add the whole suite to it.
export default defineConfig({
  ...base,
  test: { ...base.test, include: ['test/soak/**/*.soak.ts'], testTimeout: 300_000 },
});
