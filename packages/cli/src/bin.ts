#!/usr/bin/env node
// Placeholder until the CLI issue lands: says so plainly instead of pretending.
process.stderr.write(
  'upgradekit: the command-line interface is not built yet; use @upgradekit/core from a script.\n',
);
process.exitCode = 2;
