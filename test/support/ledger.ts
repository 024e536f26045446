// The `ledger` site the Action and CLI parity tests upgrade: a PostgreSQL release and a site.yaml
// whose state and datasource are test databases, with passwords from the environment.
import type { TestDatabase } from './databases.js';

/** Release `ledger` under `release/`: 2.0.0 creates and seeds `accounts`; 2.1.0 fails on purpose. */
export const LEDGER_RELEASE: Readonly<Record<string, string>> = {
  'release/upgradekit.yaml':
    'component: ledger\ndatasources:\n  main: { type: postgres }\ndefaults: { datasource: main }\n',
  'release/versions/2.0.0/tasks.yaml': [
    'tasks:',
    '  - { id: accounts, kind: sql, stage: pre_stop, file: accounts.sql, compatibleFrom: 1.0.0 }',
    '  - { id: seed, kind: sql, stage: post_start, file: seed.sql, compatibleFrom: 1.0.0 }',
    '',
  ].join('\n'),
  'release/versions/2.0.0/accounts.sql': 'CREATE TABLE accounts (id INT PRIMARY KEY, name TEXT);\n',
  'release/versions/2.0.0/seed.sql': "INSERT INTO accounts VALUES (1, 'a'), (2, 'b');\n",
  'release/versions/2.1.0/tasks.yaml':
    'tasks:\n  - { id: broken, kind: sql, stage: pre_stop, file: broken.sql, compatibleFrom: 2.0.0 }\n',
  'release/versions/2.1.0/broken.sql': 'ALTER TABLE no_such_table ADD COLUMN x INT;\n',
};

export interface SiteYamlOptions {
  readonly site: string;
  /** Datasource `main`; its password comes from UK_DB_PW. */
  readonly data: TestDatabase;
  /** The state database (default: `data`'s); its password comes from `statePasswordEnv`. */
  readonly state?: TestDatabase;
  readonly statePasswordEnv?: string;
  /** Relax the CPU-idle threshold (noise on a shared 2-core machine): a whole run assesses first. */
  readonly relaxed?: boolean;
  /** `backup: { root }`, when the site backs up. */
  readonly backupRoot?: string;
}

/** A site.yaml on PostgreSQL test databases. */
export function siteYaml(options: SiteYamlOptions): string {
  const d = options.data.connection;
  const s = (options.state ?? options.data).connection;
  return [
    `site: ${options.site}`,
    ...(options.relaxed ? ['assessment: { thresholds: { cpuIdlePercent: 0 } }'] : []),
    `state: { client: postgres, host: ${s.host}, port: ${s.port}, user: ${s.user}, database: ${s.database}, passwordEnv: ${options.statePasswordEnv ?? 'UK_STATE_PW'} }`,
    `datasources:\n  main: { host: ${d.host}, port: ${d.port}, user: ${d.user}, database: ${d.database}, passwordEnv: UK_DB_PW }`,
    ...(options.backupRoot ? [`backup: { root: ${options.backupRoot} }`] : []),
    '',
  ].join('\n');
}
