import { describe, expect, it } from 'vitest';
import { test } from '#test-support';
import {
  addPlanSteps,
  assess,
  backupSite,
  compareVersions,
  connectHost,
  executeUpgrade,
  isUpgradeKitError,
  openSiteRollback,
  plan,
  prepareUpgrade,
  probeLocal,
  rollout,
  rolloutStatus,
  rolloutStep,
  runCommand,
  sortVersions,
} from '../../src/index.js';

const calls: Record<string, () => unknown> = {
  'plan()': () => (plan as (...a: unknown[]) => unknown)(),
  'plan({ from, to }) without a release': () => plan({ from: '1.0.0', to: '1.1.0' } as never),
  'prepareUpgrade()': () => (prepareUpgrade as (...a: unknown[]) => unknown)(),
  'executeUpgrade()': () => (executeUpgrade as (...a: unknown[]) => unknown)(),
  'backupSite()': () => (backupSite as (...a: unknown[]) => unknown)(),
  'backupSite({}) without config': () => backupSite({} as never),
  'openSiteRollback()': () => (openSiteRollback as (...a: unknown[]) => unknown)(),
  'connectHost()': () => (connectHost as (...a: unknown[]) => unknown)(),
  'rolloutStep()': () => (rolloutStep as (...a: unknown[]) => unknown)(),
  'rolloutStatus()': () => (rolloutStatus as (...a: unknown[]) => unknown)(),
  'addPlanSteps()': () => (addPlanSteps as (...a: unknown[]) => unknown)(),
  'assess()': () => (assess as (...a: unknown[]) => unknown)(),
  'runCommand()': () => (runCommand as (...a: unknown[]) => unknown)(),
  'compareVersions()': () => (compareVersions as (...a: unknown[]) => unknown)(),
  'sortVersions()': () => (sortVersions as (...a: unknown[]) => unknown)(),
  'sortVersions("1.0.0")': () => sortVersions('1.0.0' as never),
  'probeLocal(5)': () => probeLocal(5 as never),
  'probeLocal([], { sampleMs: -1 })': () => probeLocal(['.'], { sampleMs: -1 }),
  'rollout()': () => (rollout as (...a: unknown[]) => unknown)(),
};

describe('the library says what a call is missing', () => {
  for (const [name, call] of Object.entries(calls)) {
    it(name, async () => {
      const error = await (async () => call())().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, `${name} did not throw`).toBeDefined();
      expect(error).not.toBeInstanceOf(TypeError);
      expect(isUpgradeKitError(error), String(error)).toBe(true);
      expect((error as { code: string }).code).toMatch(/^UPGRADEKIT_BAD_(INPUT|VERSION)$/);
      expect((error as Error).message).toMatch(new RegExp(name.replace(/\(.*$/, '')));
    });
  }

  it('probeLocal() without arguments measures the working directory', async () => {
    const r = await probeLocal();
    expect(r.local).toBe(true);
    expect(r.disks.length).toBe(1);
  });

  test('rollout() refuses a per-host health check that is invalid for one host, before any host is upgraded', async ({
    state,
  }) => {
    const upgraded: string[] = [];
    const error = await rollout({
      id: 'rollout:app',
      component: 'app',
      site: 's1',
      from: '1.0.0',
      to: '1.1.0',
      state,
      hosts: [{ name: 'app-1' }, { name: 'app-2' }],
      upgrade: async ({ host }) => {
        upgraded.push(host.name);
      },
      healthGate: {
        check: (host) =>
          (host.name === 'app-2' ? { http: 'not a url' } : { http: 'http://127.0.0.1:9/health' }) as never,
      },
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isUpgradeKitError(error, 'UPGRADEKIT_BAD_INPUT'), String(error)).toBe(true);
    expect((error as Error).message).toContain('app-2');
    expect(upgraded).toEqual([]);
  });
});
