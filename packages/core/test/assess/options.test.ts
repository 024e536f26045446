import { tmpdir } from 'node:os';
import { assess, isUpgradeKitError } from '@upgradekit/core';
import { describe, expect, it } from 'vitest';
import { emptyPlan } from '#test-support';

const plan = emptyPlan();

describe('assess options and plugin contributions', () => {
  it('bad options are one clear error before anything runs', async () => {
    const error = await assess(plan, {
      thresholds: { cpuIdlePercent: 120 },
      hosts: [{ name: 'a', session: {} as never }],
    }).catch((e: unknown) => e);
    expect(isUpgradeKitError(error, 'UPGRADEKIT_BAD_INPUT')).toBe(true);
    expect((error as Error).message).toMatch(/^assess: invalid options — /);
    expect((error as Error).message).toContain('`hosts.0.session`: must have exec(argv), like SshSession');
    expect((error as Error).message).toContain('`thresholds.cpuIdlePercent`');
  });

  it('host names in the options must exist', async () => {
    const error = await assess(plan, {
      local: false,
      backup: { host: 'db-1', dualWrite: [{ datasource: 'events', host: 'ch-1' }] },
    }).catch((e: unknown) => e);
    expect(isUpgradeKitError(error, 'UPGRADEKIT_BAD_INPUT')).toBe(true);
    expect((error as Error).message).toBe(
      'assess: invalid options — `backup.host`: "db-1" is not among the hosts (none); `backup.dualWrite.0.host`: "ch-1" is not among the hosts (none)',
    );
  });

  it('what plugins answer joins every section', async () => {
    const report = await assess(plan, {
      local: { paths: [tmpdir()] },
      thresholds: { cpuIdlePercent: 0, memoryBytes: 0 },
      cpuSampleMs: 10,
      expectMode: 'rolling',
      plugins: [
        {
          name: 'orders-plugin',
          resources: { diskBytes: 1e18, memoryBytes: 1 },
          dataQuality: [
            {
              id: 'null-user',
              description: 'orders without user',
              severity: 'error',
              offending: 2,
              suggestion: 'UPDATE …',
            },
          ],
          compatibility: {
            rollingCompatible: false,
            incompatible: [{ item: 'orders API v1', kind: 'api', reason: 'removed' }],
          },
          estimate: [{ task: 'reindex_orders', stage: 'in_stop', durationMs: 600_000 }],
        },
      ],
    });
    const disk = report.resources.checks.find((c) => c.id.startsWith('resources.local.disk'))!;
    expect(disk.status).toBe('fail');
    expect(report.resources.need.declaredDiskBytes).toBe(1e18);
    expect(report.dataQuality.checks[0]).toMatchObject({
      id: 'quality.orders-plugin.null-user',
      status: 'fail',
      origin: 'orders-plugin',
    });
    // The operator asked for a rolling upgrade; the plugin says it cannot roll.
    expect(report.compatibility.mode).toBe('stop');
    expect(report.compatibility.checks[0]).toMatchObject({ id: 'compatibility.mode', status: 'fail' });
    expect(report.compatibility.incompatible[0]).toMatchObject({
      item: 'orders API v1',
      origin: 'orders-plugin',
    });
    expect(report.duration.downtimeMs).toBe(600_000);
    expect(report.duration.checks.find((c) => c.id === 'duration.reindex_orders')?.status).toBe('warn');
  });
});
