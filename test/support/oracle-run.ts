// Loading a dump the way an operator would with upgradekit: a release whose one version runs the
// dump's files as tasks, and the CLI's `run` over it. Shared by the oracle tests and the bench.
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestDatabase } from './databases.js';
import type { DumpFixture } from './dumps.js';
import { type Spawned, spawnAsync } from './spawn.js';

const bin = fileURLToPath(new URL('../../packages/cli/bin/upgradekit.js', import.meta.url));

/** A release whose 1.1.0 runs the dump's files, in order, as one task each. */
export function dumpRelease(fixture: DumpFixture, files: readonly string[], db: TestDatabase): string {
  const dir = mkdtempSync(join(tmpdir(), `uk-oracle-${fixture.name}-`));
  mkdirSync(join(dir, 'versions/1.1.0/sql'), { recursive: true });
  const type = fixture.engine === 'mariadb' ? 'mariadb' : 'postgres';
  writeFileSync(
    join(dir, 'upgradekit.yaml'),
    `component: ${fixture.name}\ndatasources:\n  main: { type: ${type} }\ndefaults:\n  datasource: main\n`,
  );
  const tasks = files.map((file, i) => {
    copyFileSync(file, join(dir, 'versions/1.1.0/sql', basename(file)));
    return `  - { id: load_${i + 1}, kind: sql, stage: in_stop, file: sql/${basename(file)}, compatibleFrom: 1.0.0 }`;
  });
  writeFileSync(join(dir, 'versions/1.1.0/tasks.yaml'), `tasks:\n${tasks.join('\n')}\n`);
  const c = db.connection;
  writeFileSync(
    join(dir, 'site.yaml'),
    [
      'site: oracle',
      'assessment: { thresholds: { cpuIdlePercent: 0 } }',
      `datasources:\n  main: { host: ${c.host}, port: ${c.port}, user: ${c.user}, database: ${c.database} }`,
      '',
    ].join('\n'),
  );
  return dir;
}

/**
 * `upgradekit run --json` over a {@link dumpRelease}, as CI runs it. Asynchronous: a big dump
 * takes a minute, longer than a test worker may block (see spawnAsync).
 */
export function upgradekitRun(dir: string): Promise<Spawned> {
  return spawnAsync(
    process.execPath,
    [
      bin,
      'run',
      '--release',
      dir,
      '--from',
      '1.0.0',
      '--to',
      '1.1.0',
      '--config',
      join(dir, 'site.yaml'),
      '--yes',
      '--json',
    ],
    { cwd: dir, env: { ...process.env, CI: 'true', NO_COLOR: '1' }, timeout: 120_000 },
  );
}
