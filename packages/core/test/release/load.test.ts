import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isUpgradeKitError, loadRelease, type ReleaseProblem, releaseJsonSchemas } from '@upgradekit/core';
import { describe, expect, it } from 'vitest';

/** Writes a release directory from a map of relative path → content. */
function release(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'uk-release-'));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

const MANIFEST = `component: dr-platform
datasources:
  main: { type: mariadb }
  events: { type: clickhouse }
defaults:
  datasource: main
`;

async function problems(dir: string): Promise<ReleaseProblem[]> {
  const error = await loadRelease(dir).catch((e: unknown) => e);
  expect(isUpgradeKitError(error, 'UPGRADEKIT_BAD_INPUT'), String(error)).toBe(true);
  return (error as { context: { problems: ReleaseProblem[] } }).context.problems;
}

describe('loadRelease: YAML', () => {
  it('loads tasks by version, then declaration order, with checksums and resolved paths', async () => {
    const dir = release({
      'upgradekit.yaml': MANIFEST,
      'versions/2.16.7/tasks.yaml': `tasks:
  - id: alter_orders
    kind: sql
    stage: in_stop
    file: sql/alter_orders.sql
    compatibleFrom: 2.16.5
    timeout: 30m
    retry: { attempts: 3, minDelay: 2s }
  - id: events_table
    kind: clickhouse
    stage: post_start
    datasource: events
    file: sql/events.sql
    sites: { exclude: [site-9] }
`,
      'versions/2.16.7/sql/alter_orders.sql': 'ALTER TABLE orders ADD COLUMN note TEXT;\n',
      'versions/2.16.7/sql/events.sql': 'CREATE TABLE e (id UInt32) ENGINE = Memory;\n',
      'versions/V2.16.6/tasks.yaml': `tasks:
  - { id: reindex, kind: command, stage: pre_stop, command: [tools/reindex.sh, --fast], idempotent: true }
`,
    });
    const r = await loadRelease(dir);
    expect(r.component).toBe('dr-platform');
    expect(r.versions).toEqual(['2.16.6', '2.16.7']);
    expect(r.tasks.map((t) => `${t.version} ${t.id} ${t.stage}`)).toEqual([
      '2.16.6 reindex pre_stop',
      '2.16.7 alter_orders in_stop',
      '2.16.7 events_table post_start',
    ]);
    const alter = r.tasks[1]!;
    expect(alter).toMatchObject({
      kind: 'sql',
      datasource: 'main',
      compatibleFrom: '2.16.5',
      timeoutMs: 30 * 60_000,
      retry: { attempts: 3, minDelayMs: 2000 },
      source: { file: 'versions/2.16.7/tasks.yaml', line: 2 },
    });
    expect(alter.file).toBe(join(r.dir, 'versions/2.16.7/sql/alter_orders.sql'));
    expect(alter.checksum).toMatch(/^[0-9a-f]{64}$/);
    expect(r.tasks[2]).toMatchObject({ datasource: 'events', sites: { exclude: ['site-9'] } });
    expect(r.tasks[0]).toMatchObject({ command: ['tools/reindex.sh', '--fast'], idempotent: true });
    expect(Object.isFrozen(r)).toBe(true);
  });

  it('defaults of upgradekit.yaml apply to every task that does not set its own', async () => {
    const dir = release({
      'upgradekit.yaml': `${MANIFEST}  timeout: 10m\n  retry: { attempts: 2 }\n  criticality: business\n`,
      'versions/1.0.0/tasks.yaml': `tasks:
  - { id: plain, kind: sql, stage: in_stop, file: a.sql }
  - { id: own, kind: sql, stage: in_stop, file: a.sql, timeout: 1m, retry: { minDelay: 1s }, criticality: optional }
`,
      'versions/1.0.0/a.sql': 'SELECT 1;',
    });
    const [plain, own] = (await loadRelease(dir)).tasks;
    expect(plain).toMatchObject({ timeoutMs: 600_000, retry: { attempts: 2 }, criticality: 'business' });
    expect(own).toMatchObject({
      timeoutMs: 60_000,
      retry: { attempts: 2, minDelayMs: 1000 },
      criticality: 'optional',
    });
  });
});

describe("loadRelease: the seed's .properties format, unchanged", () => {
  it('reads upgrade_tasks_V<v>.properties and lets upgrade_orchestration_V<v>.properties override stages', async () => {
    const dir = release({
      'upgradekit.yaml': MANIFEST,
      'upgrade_tasks_V2.16.7.properties': `# 2.16.7 upgrade items
sql.001.id=alter_orders_table
sql.001.description=Add the note column to orders
sql.001.file=sql/alter_orders_table.sql
sql.001.stage=in_stop
sql.002.id=backup_legacy_data
sql.002.description=Copy legacy rows aside
sql.002.file=sql/backup_legacy_data.sql
sql.002.stage=post_start
tool.003.id=validate_schemas
tool.003.description=Validate every schema
tool.003.package=com.example.upgrade.ValidateSchemas
tool.003.stage=post_start
`,
      'upgrade_orchestration_V2.16.7.properties': `sql.backup_legacy_data.stage=pre_stop
tool.validate_schemas.stage=pre_stop
`,
      'sql/alter_orders_table.sql': 'ALTER TABLE orders ADD COLUMN note TEXT;',
      'sql/backup_legacy_data.sql': 'CREATE TABLE legacy_copy AS SELECT * FROM legacy;',
    });
    const r = await loadRelease(dir);
    expect(r.tasks.map((t) => [t.id, t.kind, t.stage, t.description])).toEqual([
      ['alter_orders_table', 'sql', 'in_stop', 'Add the note column to orders'],
      ['backup_legacy_data', 'sql', 'pre_stop', 'Copy legacy rows aside'],
      ['validate_schemas', 'tool', 'pre_stop', 'Validate every schema'],
    ]);
    expect(r.tasks[1]!.stageOverride).toEqual({ file: 'upgrade_orchestration_V2.16.7.properties', line: 1 });
    expect(r.tasks[0]!.source).toEqual({ file: 'upgrade_tasks_V2.16.7.properties', line: 2 });
    expect(r.tasks[2]!.package).toBe('com.example.upgrade.ValidateSchemas');
  });

  it('a sql.{uid} task runs on its datasource: on ClickHouse it becomes a clickhouse task', async () => {
    const files = {
      'upgrade_tasks_V2.16.7.properties': `sql.001.id=alter_orders
sql.001.file=orders.sql
sql.001.stage=in_stop
sql.002.id=events_table
sql.002.file=events.sql
sql.002.stage=post_start
sql.002.datasource=events
`,
      'upgrade_orchestration_V2.16.7.properties': 'sql.events_table.stage=pre_stop\n',
      'orders.sql': 'ALTER TABLE orders ADD COLUMN note TEXT;',
      'events.sql': 'CREATE TABLE e (id UInt32) ENGINE = MergeTree ORDER BY id;',
    };
    const r = await loadRelease(release({ 'upgradekit.yaml': MANIFEST, ...files }));
    expect(r.tasks.map((t) => [t.id, t.kind, t.datasource, t.stage])).toEqual([
      ['alter_orders', 'sql', 'main', 'in_stop'],
      ['events_table', 'clickhouse', 'events', 'pre_stop'],
    ]);
    // The default datasource counts too: with ClickHouse as the default both run there.
    const chDefault = await loadRelease(
      release({ 'upgradekit.yaml': MANIFEST.replace('datasource: main', 'datasource: events'), ...files }),
    );
    expect(chDefault.tasks.map((t) => [t.id, t.kind, t.datasource])).toEqual([
      ['alter_orders', 'clickhouse', 'events'],
      ['events_table', 'clickhouse', 'events'],
    ]);
    // tasks.yaml names the kind itself, so a mismatch there is still a mistake.
    const yaml = release({
      'upgradekit.yaml': MANIFEST,
      'versions/2.16.7/tasks.yaml':
        'tasks:\n  - { id: e, kind: sql, stage: in_stop, file: e.sql, datasource: events }\n',
      'versions/2.16.7/e.sql': 'SELECT 1;',
    });
    expect((await problems(yaml)).map((p) => `${p.line} ${p.field}: ${p.message}`)).toEqual([
      '2 datasource: a sql task cannot run on clickhouse datasource "events"',
    ]);
  });
});

describe('loadRelease: bad packages fail before anything runs, naming file, line and field', () => {
  it('a missing SQL file, an unknown stage, a bad version, duplicate ids', async () => {
    const dir = release({
      'upgradekit.yaml': MANIFEST,
      'versions/2.16.7/tasks.yaml': `tasks:
  - id: a
    kind: sql
    stage: in_stop
    file: sql/missing.sql
  - id: b
    kind: sql
    stage: in-stop
    file: sql/b.sql
  - id: a
    kind: command
    stage: pre_stop
    command: ['true']
`,
      'versions/2.16.7/sql/b.sql': 'SELECT 1;',
      'versions/two/tasks.yaml': 'tasks: []\n',
    });
    const list = await problems(dir);
    expect(list).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          file: 'versions/2.16.7/tasks.yaml',
          line: 5,
          field: 'file',
          message: expect.stringMatching(/"sql\/missing.sql" does not exist/),
        }),
        expect.objectContaining({
          file: 'versions/2.16.7/tasks.yaml',
          line: 8,
          field: 'tasks[1].stage',
          message: expect.stringMatching(/"in-stop"/),
        }),
        expect.objectContaining({
          file: 'versions/two',
          message: expect.stringMatching(/"two" is not a version/),
        }),
        expect.objectContaining({
          file: 'versions/2.16.7/tasks.yaml',
          line: 10,
          field: 'id',
          message: expect.stringMatching(
            /duplicate task id "a".*first declared at versions\/2.16.7\/tasks.yaml:2/,
          ),
        }),
      ]),
    );
    expect(list).toHaveLength(4);
  });

  it('paths cannot escape the release, neither with .. nor through a symlink', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'uk-outside-'));
    writeFileSync(join(outside, 'evil.sql'), 'DROP DATABASE prod;');
    const dir = release({
      'upgradekit.yaml': MANIFEST,
      'versions/2.16.7/tasks.yaml': `tasks:
  - { id: dotdot, kind: sql, stage: in_stop, file: ../../../etc/passwd }
  - { id: absolute, kind: sql, stage: in_stop, file: /etc/passwd }
  - { id: link, kind: sql, stage: in_stop, file: sql/link.sql }
  - { id: tool, kind: tool, stage: in_stop, package: ../../../tool.mjs }
`,
    });
    mkdirSync(join(dir, 'versions/2.16.7/sql'));
    symlinkSync(join(outside, 'evil.sql'), join(dir, 'versions/2.16.7/sql/link.sql'));
    const list = await problems(dir);
    expect(list.map((p) => [p.line, p.field, p.message.replace(/".*?"/, 'X')])).toEqual([
      [2, 'file', 'X points outside the release directory'],
      [3, 'file', 'must be relative to the release, not absolute (X)'],
      [4, 'file', 'X is a link that leads outside the release directory'],
      [5, 'package', 'X points outside the release directory'],
    ]);
  });

  it('YAML syntax errors, unknown keys and unknown datasources', async () => {
    const broken = release({ 'upgradekit.yaml': 'component: [unclosed\n' });
    expect((await problems(broken))[0]).toMatchObject({
      file: 'upgradekit.yaml',
      line: expect.any(Number),
      message: expect.stringMatching(/^YAML:/),
    });
    const dir = release({
      'upgradekit.yaml': `component: x\ndatasources:\n  main: { type: mariadb }\ncolour: blue\n`,
      'versions/1.0.0/tasks.yaml': `tasks:
  - id: t
    kind: sql
    stage: in_stop
    file: a.sql
    datasource: analytics
    timout: 5m
`,
      'versions/1.0.0/a.sql': 'SELECT 1;',
    });
    const list = await problems(dir);
    expect(list).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          file: 'upgradekit.yaml',
          field: '(top level)',
          message: expect.stringMatching(/"colour"/),
        }),
        expect.objectContaining({
          file: 'versions/1.0.0/tasks.yaml',
          line: 2,
          field: 'tasks[0]',
          message: expect.stringMatching(/"timout"/),
        }),
      ]),
    );
    const ds = release({
      'upgradekit.yaml': 'component: x\ndatasources:\n  main: { type: mariadb }\n',
      'versions/1.0.0/tasks.yaml':
        'tasks:\n  - { id: t, kind: sql, stage: in_stop, file: a.sql, datasource: analytics }\n  - { id: c, kind: clickhouse, stage: in_stop, file: a.sql, datasource: main }\n',
      'versions/1.0.0/a.sql': 'SELECT 1;',
    });
    expect((await problems(ds)).map((p) => `${p.line} ${p.field}: ${p.message}`)).toEqual([
      '2 datasource: unknown datasource "analytics"; upgradekit.yaml declares: main',
      '3 datasource: a clickhouse task cannot run on mariadb datasource "main"',
    ]);
  });

  it('seed .properties problems name their line', async () => {
    const dir = release({
      'upgradekit.yaml': MANIFEST,
      'upgrade_tasks_V2.16.7.properties': `sql.001.id=a
sql.001.file=a.sql
sql.001.stage=during_stop
sql.002.id=b
sql.002.stage=in_stop
sql.002.colour=red
something=else
`,
      'upgrade_orchestration_V2.16.7.properties': 'sql.zzz.stage=pre_stop\n',
      'a.sql': 'SELECT 1;',
    });
    expect((await problems(dir)).map((p) => `${p.file}:${p.line} ${p.field}: ${p.message}`)).toEqual([
      'upgrade_tasks_V2.16.7.properties:7 something: expected a key of the form sql.{uid}.{field} or tool.{uid}.{field}',
      expect.stringMatching(/^upgrade_tasks_V2.16.7.properties:3 sql.001.stage: .*"during_stop"/),
      'upgrade_tasks_V2.16.7.properties:6 sql.002.colour: unknown field; use id, description, file, stage, datasource, compatible_version, sites, exclude_sites, timeout, idempotent, check',
      'upgrade_orchestration_V2.16.7.properties:1 sql.zzz.stage: no sql task "zzz" in version 2.16.7',
      'upgrade_tasks_V2.16.7.properties:4 sql.002.file: a sql task needs `file`: the statements file, relative to the release directory',
    ]);
  });

  it('the message lists every problem for a person, and a missing directory or manifest is clear', async () => {
    await expect(loadRelease('/nonexistent/release')).rejects.toThrow(/does not exist or is not a directory/);
    const empty = release({ 'README.md': 'hi' });
    await expect(loadRelease(empty)).rejects.toThrow(/upgradekit.yaml: missing/);
    const many = release({
      'upgradekit.yaml': MANIFEST,
      'versions/1.0.0/tasks.yaml':
        'tasks:\n  - { id: a, kind: sql, stage: in_stop }\n  - { id: b, kind: tool, stage: in_stop }\n',
    });
    const error = (await loadRelease(many).catch((e: unknown) => e)) as Error;
    expect(error.message).toBe(
      `Invalid release ${many} — 2 problems, nothing was run:\n` +
        '  versions/1.0.0/tasks.yaml:2 file: a sql task needs `file`: the statements file, relative to versions/1.0.0\n' +
        '  versions/1.0.0/tasks.yaml:3 package: a tool task needs `package`: a module path in the release or a package name',
    );
  });
});

describe('the shipped JSON Schema', () => {
  it('is generated from the validating schema and up to date (npm run schemas)', () => {
    const dir = fileURLToPath(new URL('../../schema/', import.meta.url));
    const { manifest, tasks } = releaseJsonSchemas();
    expect(JSON.parse(readFileSync(`${dir}upgradekit.schema.json`, 'utf8'))).toEqual(manifest);
    expect(JSON.parse(readFileSync(`${dir}tasks.schema.json`, 'utf8'))).toEqual(tasks);
    expect(JSON.stringify(tasks)).toContain('pre_stop');
  });
});
