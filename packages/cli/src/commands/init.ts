import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { Exit, type ExitCode, type GlobalFlags, type Output, UsageError } from '../output.js';

export interface InitFlags extends GlobalFlags {
  readonly component: string;
  readonly firstVersion: string;
  readonly datasource: string;
}

const DATASOURCE_TYPES = ['sqlite', 'mariadb', 'mysql', 'postgres', 'clickhouse'];

type SchemaFile = 'upgradekit.schema.json' | 'tasks.schema.json';

/**
 * Where an editor finds a schema of @upgradekit/core, as a path relative to `fromDir` (the directory
 * of the YAML file that names it), or undefined when no installed copy can be found.
 *
 * First a `node_modules/@upgradekit/core` in the release directory or above it — the project's own
 * install, so the path stays right for everyone who checks the project out — else the copy this
 * command runs with (a global install, or a checkout of upgradekit), which is right on this machine.
 */
export function schemaPath(file: SchemaFile, fromDir: string, releaseRoot: string): string | undefined {
  let found: string | undefined;
  for (let dir = releaseRoot; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', '@upgradekit', 'core', 'schema', file);
    if (existsSync(candidate)) {
      found = candidate;
      break;
    }
    if (dirname(dir) === dir) break;
  }
  if (!found) {
    try {
      found = createRequire(import.meta.url).resolve(`@upgradekit/core/schema/${file}`);
    } catch {
      return undefined;
    }
  }
  const path = relative(fromDir, found).split(sep).join('/');
  return path.startsWith('.') ? path : `./${path}`;
}

/** The first line of a YAML file: the schema it is written against, for editors (yaml-language-server). */
function schemaLine(file: SchemaFile, fromDir: string, releaseRoot: string): string {
  const path = schemaPath(file, fromDir, releaseRoot);
  return path === undefined
    ? `# Editors complete this file with ${file}, shipped in @upgradekit/core/schema/ (not found from here).\n`
    : `# yaml-language-server: $schema=${path}\n`;
}

/** The files of a new release directory: a manifest, one version with one SQL task, a site config example. */
function scaffold(flags: InitFlags, root: string): Record<string, string> {
  const v = flags.firstVersion;
  const type = flags.datasource;
  const siteExample =
    type === 'sqlite'
      ? '# SQLite datasources need no configuration: they default to .upgradekit/<name>.sqlite\n'
      : type === 'clickhouse'
        ? 'datasources:\n  main:\n    url: http://127.0.0.1:8123\n    passwordEnv: CLICKHOUSE_PASSWORD\n'
        : `datasources:\n  main:\n    host: 127.0.0.1\n    database: app\n    user: app\n    passwordEnv: APP_DB_PASSWORD   # never the password itself\n`;
  return {
    'upgradekit.yaml': `${schemaLine('upgradekit.schema.json', root, root)}component: ${flags.component}
datasources:
  main: { type: ${type} }   # connection details live in the site configuration, not here
defaults:
  datasource: main
  timeout: 30m
`,
    [`versions/${v}/tasks.yaml`]: `${schemaLine('tasks.schema.json', join(root, 'versions', v), root)}tasks:
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
  const [{ commandLine }, { manifestSchema }, { parseVersion }] = await Promise.all([
    import('@upgradekit/core/events'),
    import('@upgradekit/core/release'),
    import('@upgradekit/core/version'),
  ]);
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
  const files = scaffold(flags, root);
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
    'Next, see its plan: add the version running now after --from (0.0.0 where nothing is installed yet):',
    `  ${commandLine(['upgradekit', 'plan', '--release', dir, '--to', flags.firstVersion, '--from'])}`,
  ]);
  return Exit.ok;
}
