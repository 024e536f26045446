/** @upgradekit/cli — the `upgradekit` command. The commands arrive with the CLI issue; see README. */
export const name = 'upgradekit';
