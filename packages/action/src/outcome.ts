// What each command hands back to run(): outputs, the report, the summary, and whether the step fails.
import { createRequire } from 'node:module';
import type { Release, SiteConfig } from '@upgradekit/core';

export interface Outcome {
  readonly status: string;
  readonly mode?: string;
  readonly report: Record<string, unknown>;
  readonly markdown: string;
  /** Set when the step must fail, with the line an operator reads first. */
  readonly failure?: string;
}

/**
 * SQLite (the embedded default) needs better-sqlite3, a native module that a single-file Action
 * cannot carry. Say so before knex fails with "Cannot find module".
 */
export function assertNativeSqlite(release: Release | undefined, config: SiteConfig): void {
  const usesSqlite =
    !config.state?.client || Object.values(release?.datasources ?? {}).some((d) => d.type === 'sqlite');
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
