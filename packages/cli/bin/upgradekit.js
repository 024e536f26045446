#!/usr/bin/env node
// The installed `upgradekit` command. It is a source file, not build output, so npm can link it
// when a fresh clone is installed — before `npm run build` has produced dist/.
import('../dist/bin.js').catch((error) => {
  if (error?.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('dist/bin.js')) {
    process.stderr.write('upgradekit: the command is not built yet: run `npm run build` first.\n');
    process.exitCode = 2;
    return;
  }
  throw error;
});
