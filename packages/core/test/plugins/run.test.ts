import { EventBus, type RetryEvent, type UpgradeKitError } from '@upgradekit/core';
import { describe, expect, it } from 'vitest';
import {
  createPluginContext,
  definePlugin,
  PLUGIN_POLICIES,
  runInProcess,
  runPlugin,
  runPluginSafely,
} from '../../src/plugins/index.js';
import { context, fixtures, recordLogs, rejection } from './support.js';

const cwd = fixtures;

describe('runPluginSafely', () => {
  it('contains a crash: two plugins at once, one exits, the other answers', async () => {
    const [crashed, answered] = await Promise.all([
      runPluginSafely('./exits.mjs', 'estimate', context, { cwd, criticality: 'business' }),
      runPluginSafely('./slow.mjs', 'compatibility', context, { cwd, criticality: 'business' }),
    ]);
    expect(crashed).toMatchObject({ ok: false, plugin: './exits.mjs', method: 'estimate', fault: 'exited' });
    expect(!crashed.ok && crashed.error.message).toMatch(/plugin "quitter" estimate\(\) exited with code 3/);
    expect(answered).toMatchObject({
      ok: true,
      plugin: './slow.mjs',
      value: { rollingCompatible: true, incompatible: [] },
      attempts: 1,
    });
  });

  it('turns every fault into a result, never a throw', async () => {
    const results = await Promise.all([
      runPluginSafely('./throws.mjs', 'dataQuality', context, { cwd }),
      runPluginSafely('./loop.mjs', 'resources', context, { cwd, timeoutMs: 800 }),
      runPluginSafely('./missing.mjs', 'resources', context, { cwd }),
      runPluginSafely('./bad-result.mjs', 'dataQuality', context, { cwd }),
    ]);
    expect(results.map((r) => (r.ok ? 'ok' : [r.fault, r.error.code]))).toEqual([
      ['threw', 'UPGRADEKIT_PLUGIN_FAILED'],
      ['timeout', 'UPGRADEKIT_TIMEOUT'],
      ['bad-plugin', 'UPGRADEKIT_BAD_INPUT'],
      ['bad-result', 'UPGRADEKIT_PLUGIN_FAILED'],
    ]);
  });

  it('retries what another attempt could fix, and reports the plugin’s own error', async () => {
    const events = new EventBus();
    const retries: RetryEvent[] = [];
    events.on('retry', (event) => retries.push(event));
    const result = await runPluginSafely('./throws.mjs', 'dataQuality', context, {
      cwd,
      events,
      retries: 1,
      retryDelayMs: 0,
    });
    expect(result).toMatchObject({ ok: false, fault: 'threw', attempts: 2 });
    expect(!result.ok && result.error.code).toBe('UPGRADEKIT_PLUGIN_FAILED');
    expect(!result.ok && result.history).toHaveLength(2);
    expect(retries.map((r) => r.decision)).toEqual(['retry', 'retry']);
  });

  it('does not retry what repeats identically: out of memory', async () => {
    const result = await runPluginSafely('./memory.mjs', 'resources', context, {
      cwd,
      memoryMb: 64,
      retries: 2,
      retryDelayMs: 0,
    });
    expect(result).toMatchObject({ ok: false, fault: 'out-of-memory', attempts: 1 });
    expect(!result.ok && result.error.code).toBe('UPGRADEKIT_PLUGIN_FAILED');
  });

  it('still throws for the caller’s own mistakes', async () => {
    await expect(runPluginSafely('./good.mjs', 'resources', context, { cwd, timeoutMs: -1 })).rejects.toThrow(
      /`timeoutMs`: must be a positive number/,
    );
    await expect(runPluginSafely('./good.mjs', 'resourcez' as 'resources', context, { cwd })).rejects.toThrow(
      /unknown plugin method "resourcez"/,
    );
  });
});

describe('core plugins run in-process', () => {
  const core = definePlugin({
    name: 'core-config',
    criticality: 'core',
    resources: (ctx) => {
      ctx.log.warn('checking', { site: ctx.site.id });
      return { memoryBytes: 1024, notes: [ctx.from, ctx.to] };
    },
    dataQuality: () => {
      throw new Error('config table locked');
    },
    compatibility: () => ({ rollingCompatible: true, incompatible: [], when: new Date() }) as never,
  });

  it('answers, logs with its name, and reports a throw like an isolated plugin', async () => {
    const { events, logs } = recordLogs();
    expect(await runPlugin(core, 'resources', context, { criticality: 'core', events })).toEqual({
      memoryBytes: 1024,
      notes: ['2.16.6', '2.16.7'],
    });
    expect(logs).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        message: 'core-config: checking',
        fields: expect.objectContaining({ plugin: 'core-config' }),
      }),
    );
    const failed = await runPluginSafely(core, 'dataQuality', context, { criticality: 'core' });
    expect(failed).toMatchObject({ ok: false, fault: 'threw' });
    expect(!failed.ok && failed.error.message).toBe(
      'plugin "core-config" dataQuality() threw: config table locked',
    );
  });

  it('holds an in-process plugin to the same JSON rules', async () => {
    const error = (await rejection(runInProcess(core, 'compatibility', context))) as UpgradeKitError;
    expect(error.context.fault).toBe('bad-result');
    expect(error.message).toContain('`when` is a Date, not a plain object');
  });

  it('refuses to isolate a plugin object', async () => {
    await expect(runPlugin(core, 'resources', context, { isolation: 'process' })).rejects.toThrow(
      /pass its package name or path/,
    );
  });

  it('follows the seed’s policies', () => {
    expect(PLUGIN_POLICIES.core).toMatchObject({
      memoryMb: 512,
      retries: 3,
      retryDelayMs: 10_000,
      onFailure: 'stop',
    });
    expect(PLUGIN_POLICIES.business).toMatchObject({
      isolation: 'process',
      memoryMb: 256,
      retries: 2,
      onFailure: 'skip',
    });
    expect(PLUGIN_POLICIES.optional).toMatchObject({
      isolation: 'process',
      memoryMb: 128,
      retries: 1,
      onFailure: 'record',
    });
  });
});

describe('createPluginContext', () => {
  const input = {
    from: '1.0.0',
    to: '1.1.0',
    site: { id: 's1' },
    datasources: {
      main: { type: 'mysql', host: 'db', password: 'pw-main', url: 'mysql://app:pw-url@db:3306/app' },
      ch: { type: 'clickhouse', tls: { key: 'PEM', ca: 'CA' }, apiToken: 't0k3n' },
    },
  };

  it('removes secrets unless they are passed explicitly', () => {
    const stripped = createPluginContext(input);
    expect(stripped.datasources).toEqual({
      main: { type: 'mysql', host: 'db', url: 'mysql://app@db:3306/app' },
      ch: { type: 'clickhouse', tls: { ca: 'CA' } },
    });
    const some = createPluginContext(input, { secrets: ['main'] });
    expect(some.datasources.main?.password).toBe('pw-main');
    expect(some.datasources.ch).toEqual({ type: 'clickhouse', tls: { ca: 'CA' } });
    expect(createPluginContext(input, { secrets: true }).datasources.ch?.apiToken).toBe('t0k3n');
    expect(stripped.hosts).toEqual([]);
  });

  it('names what cannot cross the process boundary', () => {
    expect(() =>
      createPluginContext({ ...input, config: { pool: { create: () => undefined } } } as never),
    ).toThrow(/`context.config.pool.create` is a function/);
    expect(() => createPluginContext({ ...input, site: {} } as never)).toThrow(/`context.site.id`/);
  });
});
