// Task ids are per version (issue 15 item 7): a release with task `add_a` in 1.1.0 and in 1.2.0,
// planned across both versions onto a SQLite datasource, runs both — and tells them apart in
// status, dry run and resolve.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isUpgradeKitError } from '@upgradekit/core';
import { describe, expect, it } from 'vitest';
import { sqliteKnex } from '#test-support';
import { planUpgrade, writeRelease } from '../migrate/support.js';

async function twoVersions() {
  const dir = mkdtempSync(join(tmpdir(), 'uk-versions-'));
  writeRelease(
    dir,
    'sqlite',
    {
      'versions/1.1.0/a.sql': 'CREATE TABLE a11 (id INTEGER);\n',
      'versions/1.2.0/tasks.yaml':
        'tasks:\n  - { id: add_a, kind: sql, stage: in_stop, file: a.sql, compatibleFrom: 1.0.0 }\n',
      'versions/1.2.0/a.sql': 'CREATE TABLE a12 (id INTEGER);\n',
    },
    'tasks:\n  - { id: add_a, kind: sql, stage: in_stop, file: a.sql, compatibleFrom: 1.0.0 }\n',
  );
  const knex = sqliteKnex(join(dir, 'main.sqlite'));
  const upgrade = await planUpgrade(dir, knex, { filename: join(dir, 'state.sqlite') }, { to: '1.2.0' });
  return { upgrade, knex };
}

describe('the same task id in two versions of a release', () => {
  it('plans and runs both, each under its own (version, id)', async () => {
    const { upgrade, knex } = await twoVersions();
    expect((await upgrade.dryRun({ stages: ['preStart'] })).map((e) => [e.id, e.version, e.action])).toEqual([
      ['add_a', '1.1.0', 'run'],
      ['add_a', '1.2.0', 'run'],
    ]);
    const result = await upgrade.runStage('preStart');
    expect(result.status, result.error?.message).toBe('succeeded');
    expect(result.steps.map((s) => [s.id, s.version, s.status])).toEqual([
      ['add_a', '1.1.0', 'succeeded'],
      ['add_a', '1.2.0', 'succeeded'],
    ]);
    expect([await knex.schema.hasTable('a11'), await knex.schema.hasTable('a12')]).toEqual([true, true]);
    expect(
      (await upgrade.status()).steps.filter((s) => s.stage === 'preStart').map((s) => [s.version, s.status]),
    ).toEqual([
      ['1.1.0', 'succeeded'],
      ['1.2.0', 'succeeded'],
    ]);

    const error = await upgrade.resolve('add_a', 'retry').catch((e: unknown) => e);
    expect(isUpgradeKitError(error, 'UPGRADEKIT_BAD_INPUT')).toBe(true);
    expect((error as Error).message).toMatch(/step "add_a" is in versions 1\.1\.0, 1\.2\.0/);
    expect(await upgrade.resolve('add_a', 'retry', { version: '1.2.0' })).toMatchObject({
      version: '1.2.0',
      status: 'pending',
    });
    // Only 1.2.0's was set back; its marker row (committed with its work) still finds it applied.
    expect(
      (await upgrade.dryRun({ stages: ['preStart'] })).map((e) => [e.version, e.action, e.reason]),
    ).toEqual([
      ['1.1.0', 'skip', expect.stringMatching(/^already done: succeeded in run /)],
      ['1.2.0', 'skip', 'skipIf: already done'],
    ]);
    await upgrade.close();
    await knex.destroy();
  });
});
