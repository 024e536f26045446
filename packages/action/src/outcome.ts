// What only a bundled Action has to check: its missing native module.
import { createRequire } from 'node:module';
import { type CommandInput, loadRelease, type SiteConfig } from '@upgradekit/core';

/**
 * SQLite (the embedded default) needs better-sqlite3, a native module that a single-file Action
 * cannot carry. Say so before knex fails with "Cannot find module".
 */
export async function assertNativeSqlite(input: CommandInput, config: SiteConfig): Promise<void> {
  // plan and backup keep no state; assess reads none, but opens the release's datasources.
  if (input.command === 'plan' || input.command === 'backup') return;
  const release = input.release ? await loadRelease(input.release) : undefined;
  const sqliteData = Object.values(release?.datasources ?? {}).some((d) => d.type === 'sqlite');
  const usesSqlite = sqliteData || (input.command !== 'assess' && !config.state?.client);
  if (!usesSqlite) return;
  try {
    createRequire(import.meta.url).resolve('better-sqlite3');
  } catch {
    throw Object.assign(
      new Error(
        'SQLite state or datasources need the native better-sqlite3 module, which the bundled Action cannot include. ' +
          'In CI keep state in MariaDB/MySQL or PostgreSQL (`state: { client, host, database, passwordEnv }` in the config), ' +
          'or run `npx @upgradekit/cli` in the job instead.',
      ),
      { code: 'UPGRADEKIT_BAD_INPUT' },
    );
  }
}
