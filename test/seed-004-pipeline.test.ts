// Seed 004 §4.2.2, rule by rule: the example pipeline (examples/seed-004-pipeline) with failures
// injected into one step at a time, checking what was retried, cleaned up and re-run.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createUpgrade, EventBus, type RunResult } from '@upgradekit/core';
import { describe, expect, it } from 'vitest';
import { declarePipeline, journal, prepareWorld } from '../examples/seed-004-pipeline/pipeline.js';

async function runWith(faults: Record<string, number>, root = mkdtempSync(join(tmpdir(), 'uk-seed004-'))) {
  if (!existsSync(join(root, 'source'))) prepareWorld(root);
  const upgrade = createUpgrade({
    component: 'dr-platform',
    from: 'V2.16.5',
    to: 'V2.16.7',
    site: 'site-1',
    state: { filename: join(root, 'state.sqlite') },
    events: new EventBus(),
  });
  declarePipeline(upgrade, { root, faults, delayMs: 5 });
  const result: RunResult = await upgrade.run();
  const status = await upgrade.status();
  await upgrade.close();
  return { root, result, status, lines: journal(root) };
}

/** The journal lines between the first line matching `from` and the first matching `to` after it. */
function between(lines: string[], from: string, to: string): string[] {
  const start = lines.indexOf(from);
  const end = lines.indexOf(to, start + 1);
  expect(start, `${from} in journal`).toBeGreaterThanOrEqual(0);
  expect(end, `${to} after ${from}`).toBeGreaterThan(start);
  return lines.slice(start, end + 1);
}

const count = (lines: string[], line: string) => lines.filter((l) => l === line).length;

describe('seed 004 §4.2.2 retry rules', () => {
  it('without failures every step runs once, in flow order', async () => {
    const { result, lines, status } = await runWith({});
    expect(result.status).toBe('succeeded');
    expect(lines.every((l) => l.startsWith('run '))).toBe(true);
    expect(new Set(lines).size).toBe(lines.length);
    expect(lines[0]).toBe('run load-packages');
    expect(lines.at(-1)).toBe('run check-services-up');
    expect(lines).toHaveLength(29);
    expect(status.counts).toMatchObject({ done: 29, failed: 0, inDoubt: 0, pending: 0 });
  });

  it('init: a failure starts the whole upgrade over after a full cleanup', async () => {
    const { result, lines } = await runWith({ 'load-ssh-info': 1 });
    expect(result.status).toBe('succeeded');
    expect(lines.slice(0, 5)).toEqual([
      'run load-packages',
      'fail load-ssh-info',
      'cleanup load-packages',
      'run load-packages',
      'run load-ssh-info',
    ]);
  });

  it('tool distribution: residual files are cleaned up, then only that step is retried', async () => {
    const { result, lines } = await runWith({ 'upload-tools': 2 });
    expect(result.status).toBe('succeeded');
    expect(between(lines, 'fail upload-tools', 'run upload-tools')).toEqual([
      'fail upload-tools',
      'cleanup upload-tools',
      'fail upload-tools',
      'cleanup upload-tools',
      'run upload-tools',
    ]);
    expect(count(lines, 'run load-packages')).toBe(1);
  });

  it('pre-checks: all failures are collected first, then the failed checks re-run together, no cleanup', async () => {
    const { result, lines } = await runWith({ 'check-selinux': 1, 'check-patches': 1 });
    expect(result.status).toBe('succeeded');
    const checks = lines.filter((l) => /check-(selinux|user-2048|patches)$/.test(l));
    expect(checks).toEqual([
      'fail check-selinux',
      'run check-user-2048',
      'fail check-patches',
      'run check-selinux',
      'run check-patches',
    ]);
    expect(lines.some((l) => l.startsWith('cleanup check'))).toBe(false);
  });

  it('pre-checks that keep failing stop the upgrade before anything changes, listing every failed check', async () => {
    const { result, lines } = await runWith({ 'check-disk': 5, 'check-memory': 5 });
    expect(result.status).toBe('failed');
    expect(result.rollbackOffered).toBe(true);
    expect(result.error?.message).toMatch(/2 core steps failed/);
    expect(result.error?.message).toMatch(/check-disk/);
    expect(result.error?.message).toMatch(/check-memory/);
    expect(lines.some((l) => l.includes('upload-package') || l.includes('unpack'))).toBe(false);
  });

  it('package distribution: a partial file is removed before the retry; an identical file is skipped next time', async () => {
    const first = await runWith({ 'upload-package': 1 });
    expect(first.result.status).toBe('succeeded');
    expect(between(first.lines, 'fail upload-package', 'run upload-package')).toEqual([
      'fail upload-package',
      'cleanup upload-package',
      'run upload-package',
    ]);
    // A new upgrade run to the same target on the same node: the package is already there, same sha256.
    const second = await runWith({}, first.root);
    expect(second.result.status).toBe('succeeded');
    expect(second.lines.length).toBe(first.lines.length); // nothing ran again
  });

  it('backup: an incomplete database backup is deleted, then the backup is retried', async () => {
    const { result, lines, root } = await runWith({ 'backup-database': 1 });
    expect(result.status).toBe('succeeded');
    expect(between(lines, 'fail backup-database', 'run backup-database')).toEqual([
      'fail backup-database',
      'cleanup backup-database',
      'run backup-database',
    ]);
    expect(readFileSync(join(root, 'node', 'backup', 'db.sql'), 'utf8')).toMatch(/-- Dump completed/);
  });

  it('upgrade: unpack is retried directly after removing the unpack directory', async () => {
    const { lines } = await runWith({ unpack: 1 });
    expect(between(lines, 'fail unpack', 'run unpack')).toEqual([
      'fail unpack',
      'cleanup unpack',
      'run unpack',
    ]);
    expect(count(lines, 'run pre-install-config')).toBe(1);
  });

  it.each([
    'pre-install-config',
    'install-upgrade-mode',
    'db-migrate',
    'post-install-config',
    'db-data-upgrade',
  ])('upgrade: a failure in %s cleans up back to unpack and restarts from there', async (step) => {
    const { result, lines } = await runWith({ [step]: 1 });
    expect(result.status).toBe('succeeded');
    const failedAt = lines.indexOf(`fail ${step}`);
    const restartedAt = lines.indexOf('run unpack', failedAt);
    const unwound = lines.slice(failedAt + 1, restartedAt);
    // Every cleanup from the failed step back to unpack, newest first, and nothing else.
    expect(unwound.at(0)).toBe(`cleanup ${step}`);
    expect(unwound.at(-1)).toBe('cleanup unpack');
    expect(unwound.every((l) => l.startsWith('cleanup '))).toBe(true);
    expect(count(lines, 'run unpack')).toBe(2);
    expect(count(lines, `run ${step}`)).toBe(1);
    // Steps before unpack did not run again.
    expect(count(lines, 'run remove-services')).toBe(1);
  });

  it('upgrade: etcd is retried directly; after a restart from unpack, a running etcd is not started again', async () => {
    const { lines } = await runWith({ 'start-etcd': 1, 'db-migrate': 1 });
    expect(between(lines, 'fail start-etcd', 'run start-etcd')).toEqual([
      'fail start-etcd',
      'run start-etcd',
    ]);
    expect(count(lines, 'run start-etcd')).toBe(1); // the restart from unpack found it running (skipIf)
    expect(count(lines, 'run start-kmc')).toBe(2); // idempotent service starts simply run again
  });

  it('a step that keeps failing past its restarts stops the upgrade and offers rollback', async () => {
    const { result, status } = await runWith({ 'db-migrate': 10 });
    expect(result.status).toBe('failed');
    expect(result.rollbackOffered).toBe(true);
    expect(result.stages.at(-1)?.stage).toBe('preStart');
    expect(status.steps.find((s) => s.id === 'db-migrate')?.status).toBe('failed');
    expect(status.steps.find((s) => s.id === 'check-services-up')?.status).toBe('pending');
  });

  it('post-check: retried directly', async () => {
    const { result, lines } = await runWith({ 'check-services-up': 2 });
    expect(result.status).toBe('succeeded');
    expect(lines.slice(-3)).toEqual([
      'fail check-services-up',
      'fail check-services-up',
      'run check-services-up',
    ]);
  });
});
