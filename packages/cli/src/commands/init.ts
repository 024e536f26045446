import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Exit, type ExitCode, type GlobalFlags, type Output, UsageError } from '../output.js';

export interface InitFlags extends GlobalFlags {
  readonly component: string;
  readonly firstVersion: string;
  readonly datasource: string;
}

const DATASOURCE_TYPES = ['sqlite', 'mariadb', 'mysql', 'postgres', 'clickhouse'];

/** The files of a new release directory: a manifest, one version with one SQL task, a site config example. */
function scaffold(flags: InitFlags): Record<string, string> {
  const v = flags.firstVersion;
  const type = flags.datasource;
  const siteExample =
    type === 'sqlite'
      ? '# SQLite datasources need no configuration: they default to .upgradekit/<name>.sqlite\n'
      : type === 'clickhouse'
        ? 'datasources:\n  main:\n    url: http://127.0.0.1:8123\n    passwordEnv: CLICKHOUSE_PASSWORD\n'
        : `datasources:\n  main:\n    host: 127.0.0.1\n    database: app\n    user: app\n    passwordEnv: APP_DB_PASSWORD   # never the password itself\n`;
  return {
    'upgradekit.yaml': `# Editors complete this file with the schema shipped in @upgradekit/core.
$schema: ./node_modules/@upgradekit/core/schema/upgradekit.schema.json
component: ${flags.component}
datasources:
  main: { type: ${type} }   # connection details live in the site configuration, not here
defaults:
  datasource: main
  timeout: 30m
`,
    [`versions/${v}/tasks.yaml`]: `tasks:
  - id: create_example
    kind: ${type === 'clickhouse' ? 'clickhouse' : 'sql'}
    stage: in_stop            # pre_stop → preUpgrade, in_stop → preStart, post_start → postStart
    file: sql/001_create_example.sql
    compatibleFrom: 0.0.0     # the oldest running version this change is compatible with: a new table suits any
    description: An example table; replace with your own change
`,
    [`versions/${v}/sql/001_create_example.sql`]:
      type === 'clickhouse'
        ? 'CREATE TABLE IF NOT EXISTS example (id UInt64, note String) ENGINE = MergeTree ORDER BY id;\n'
        : 'CREATE TABLE example (id INTEGER PRIMARY KEY, note VARCHAR(200));\n',
    'site.example.yaml': `# A site configuration: pass it with --config (or UPGRADEKIT_CONFIG).
site: site-001
# state: { filename: .upgradekit/state.sqlite }   # the default
${siteExample}
# A verified backup before every run's data tasks, and what \`upgradekit rollback\` restores:
# backup:
#   root: /backup
#   programDir: /opt/${flags.component}
#   services: { stop: { unit: ${flags.component}.service }, start: { unit: ${flags.component}.service } }
`,
  };
}

export async function initCommand(dir: string, flags: InitFlags, out: Output): Promise<ExitCode> {
  const { commandLine, manifestSchema, parseVersion } = await import('@upgradekit/core');
  parseVersion(flags.firstVersion); // a bad version fails here, before anything is written
  // The name goes into upgradekit.yaml and into state keys: the manifest's own rule, checked now.
  const component = manifestSchema.shape.component.safeParse(flags.component);
  if (!component.success)
    throw new UsageError(
      `--component ${JSON.stringify(flags.component)}: ${component.error.issues[0]?.message ?? 'not a component name'}`,
    );
  if (!DATASOURCE_TYPES.includes(flags.datasource)) {
    throw new UsageError(
      `--datasource must be one of ${DATASOURCE_TYPES.join(', ')} (got "${flags.datasource}")`,
    );
  }
  const root = resolve(dir);
  if (existsSync(root) && readdirSync(root).length > 0) {
    throw new UsageError(
      `${root} is not empty: init only creates a new release directory, it never overwrites`,
    );
  }
  const files = scaffold(flags);
  for (const [path, content] of Object.entries(files)) {
    const target = join(root, path);
    mkdirSync(join(target, '..'), { recursive: true });
    writeFileSync(target, content, { flag: 'wx' });
  }
  out.document({ ok: true, dir: root, files: Object.keys(files) });
  out.text([
    `Created a release of ${flags.component} in ${root}:`,
    ...Object.keys(files).map((f) => `  ${f}`),
    // Only the operator knows the version running now: the command ends with --from, for it.
    'Next, see its plan: add the version running now after --from:',
    `  ${commandLine(['upgradekit', 'plan', '--release', dir, '--to', flags.firstVersion, '--from'])}`,
  ]);
  return Exit.ok;
}
