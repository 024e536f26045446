/** @upgradekit/cli — the `upgradekit` command, callable in-process for tools and tests. */
export { main } from './main.js';
export { Exit, type ExitCode } from './output.js';
