import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createUpgrade,
  EventBus,
  isUpgradeKitError,
  StateStore,
  type StepContext,
  type UpgradeEvent,
  type UpgradeOptions,
} from '@upgradekit/core';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { withStore } from '#test-support';

function setup(extra: Partial<UpgradeOptions> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'uk-engine-'));
  const events = new EventBus();
  const seen: UpgradeEvent[] = [];
  events.on('*', (e) => seen.push(e));
  const options: UpgradeOptions = {
    component: 'dr-platform',
    from: 'V2.16.5',
    to: 'v2.16.7',
    site: { id: 'site-042', env: { REGION: 'north' } },
    state: { filename: join(dir, 'state.sqlite') },
    events,
    datasources: { main: { client: 'mysql2' } },
    hosts: [{ name: 'app1', address: '127.0.0.2' }],
    ...extra,
  };
  return { dir, events, seen, options, upgrade: createUpgrade(options) };
}

describe('stages and hooks', () => {
  it('runs the eight cut-points in order, hooks in registration order, with a stage-specific context', async () => {
    const order: string[] = [];
    const contexts: StepContext[] = [];
    const { upgrade } = setup({
      hooks: {
        postUpgrade: () => {
          order.push('postUpgrade');
        },
        install: [
          async function unpackTools() {
            order.push('install:1');
          },
          { id: 'register-tools', run: () => void order.push('install:2') },
        ],
      },
    });
    upgrade.hooks
      .preStart((ctx) => {
        contexts.push(ctx);
        order.push('preStart');
        // Type-level: the services phase is known per stage.
        const phase: 'stopped' = ctx.services;
        expect(phase).toBe('stopped');
      })
      .resourceCheck(() => void order.push('resourceCheck'))
      .postStart((ctx) => {
        contexts.push(ctx);
        order.push('postStart');
      });
    const result = await upgrade.run();
    expect(result.status).toBe('succeeded');
    expect(result.stages.map((s) => s.stage)).toEqual([
      'install',
      'resourceCheck',
      'businessCheck',
      'preUpgrade',
      'preStart',
      'postStart',
      'openTraffic',
      'postUpgrade',
    ]);
    expect(order).toEqual([
      'install:1',
      'install:2',
      'resourceCheck',
      'preStart',
      'postStart',
      'postUpgrade',
    ]);
    const [preStart, postStart] = contexts;
    expect(preStart).toMatchObject({
      stage: 'preStart',
      services: 'stopped',
      step: 'preStart:hook-1',
      attempt: 1,
      component: 'dr-platform',
      from: '2.16.5',
      to: '2.16.7',
      site: { id: 'site-042', env: { REGION: 'north' } },
      datasources: { main: { client: 'mysql2' } },
      hosts: [{ name: 'app1', address: '127.0.0.2' }],
    });
    expect(preStart!.signal).toBeInstanceOf(AbortSignal);
    expect(postStart!.services).toBe('new-version-running');
    const steps = (await upgrade.status()).steps.map((s) => s.id);
    expect(steps).toContain('install:unpackTools'); // a named function keeps a stable id
    await upgrade.close();
  });

  it('types ctx.datasources from createUpgrade<D>: no cast in a hook', async () => {
    const { options } = setup();
    const orders = { table: 'orders', count: () => 3 };
    const upgrade = createUpgrade<{ readonly main: typeof orders }>({
      ...options,
      datasources: { main: orders },
    });
    let seen: number | undefined;
    upgrade.hooks.preStart((ctx) => {
      expectTypeOf(ctx.datasources.main).toEqualTypeOf<typeof orders>();
      // @ts-expect-error — not a datasource of this upgrade
      void ctx.datasources.events;
      seen = ctx.datasources.main.count();
    });
    upgrade.step('postStart', {
      id: 'typed-step',
      run: (ctx) => expectTypeOf(ctx.datasources.main.table).toBeString(),
    });
    expect((await upgrade.runStage('preStart')).status).toBe('succeeded');
    expect(seen).toBe(3);
    await upgrade.close();
  });

  it("accepts tasks.yaml's stage names (pre_stop, in_stop, post_start) wherever a stage is named", async () => {
    const { upgrade } = setup();
    const ran: string[] = [];
    upgrade.step('preStart', { id: 'a', run: () => void ran.push('a') });
    // The hook registrar, dry run, planned and runStage all take the release's spelling.
    (upgrade.hooks as unknown as { in_stop: (fn: () => void) => unknown }).in_stop(
      () => void ran.push('hook'),
    );
    expect(upgrade.planned('in_stop')).toHaveLength(2);
    expect(upgrade.planned('in_stop')).toEqual(upgrade.planned('preStart'));
    expect((await upgrade.dryRun({ stages: ['in_stop'] })).map((e) => e.stage)).toEqual([
      'preStart',
      'preStart',
    ]);
    const result = await upgrade.runStage('in_stop');
    expect(result.stage).toBe('preStart');
    expect(ran).toEqual(['a', 'hook']);
    await expect(upgrade.runStage('in_stp' as never)).rejects.toThrow(
      /did you mean "in_stop"\?.*preStart \(in_stop\)/,
    );
    await upgrade.close();
  });

  it('rejects a misspelt stage clearly, at compile time and at run time', async () => {
    const { upgrade, options } = setup();
    const capture = (fn: () => unknown) => {
      try {
        fn();
      } catch (error) {
        return error;
      }
      return undefined;
    };
    // @ts-expect-error — not a stage
    const a = capture(() => upgrade.hooks.preStrat(() => {}));
    expect(isUpgradeKitError(a, 'UPGRADEKIT_BAD_INPUT')).toBe(true);
    expect((a as Error).message).toMatch(/unknown stage "preStrat" — did you mean "preStart"\?/);
    // @ts-expect-error — not a stage
    const b = capture(() => createUpgrade({ ...options, hooks: { postStrat: [() => {}] } }));
    expect((b as Error).message).toMatch(/did you mean "postStart"/);
    // @ts-expect-error — not a stage
    await expect(upgrade.runStage('openTrafic')).rejects.toThrow(/did you mean "openTraffic"/);
    expect(() => upgrade.step('preStart', { id: 'x', run: () => {}, scope: 'from:nowhere' })).toThrow(
      /names "nowhere", which is not a step of this stage/,
    );
    upgrade.step('preStart', { id: 'x', run: () => {} });
    expect(() => upgrade.step('preStart', { id: 'x', run: () => {} })).toThrow(/two steps share the id "x"/);
    // @ts-expect-error — wrong type
    expect(() => upgrade.step('preStart', { id: 'y', run: 'echo hi' })).toThrow(/`run` must be a function/);
    expect(() => createUpgrade({ ...options, from: 'two.sixteen' })).toThrow(/Invalid version "two.sixteen"/);
    // @ts-expect-error — missing site
    expect(() => createUpgrade({ ...options, site: undefined })).toThrow(/`site`/);
    await upgrade.close();
  });
});

describe('resume and identity', () => {
  it('never runs a succeeded step again, whichever run brings it up; a new target version runs it anew', async () => {
    const { options, upgrade } = setup();
    let runs = 0;
    const step = { id: 'migrate', run: () => void runs++ };
    upgrade.step('preStart', step);
    await upgrade.runStage('preStart');
    await upgrade.runStage('preStart');
    await upgrade.run();
    await upgrade.close();
    const again = createUpgrade(options).step('preStart', step);
    expect((await again.runStage('preStart')).steps[0]).toMatchObject({
      status: 'skipped',
      reason: expect.stringMatching(/already done: succeeded in run/),
    });
    await again.close();
    expect(runs).toBe(1);
    const next = createUpgrade({ ...options, from: '2.16.7', to: '2.16.8' }).step('preStart', step);
    await next.runStage('preStart');
    await next.close();
    expect(runs).toBe(2);
  });

  it('skipIf skips work that is already done, and records it', async () => {
    const { upgrade } = setup();
    let ran = false;
    upgrade.step('preUpgrade', {
      id: 'backup',
      run: () => {
        ran = true;
      },
      skipIf: () => true,
    });
    const result = await upgrade.runStage('preUpgrade');
    expect(ran).toBe(false);
    expect(result.steps[0]).toMatchObject({ status: 'skipped', reason: 'skipIf: already done' });
    expect((await upgrade.status()).counts.skipped).toBe(1);
    await upgrade.close();
  });
});

describe('failures', () => {
  it('core stops the run and offers rollback; business is skipped and reported; optional is recorded', async () => {
    const { upgrade } = setup();
    const ran: string[] = [];
    upgrade
      .step('preUpgrade', {
        id: 'notify-crm',
        criticality: 'business',
        run: () => {
          throw new Error('CRM unreachable');
        },
      })
      .step('preUpgrade', {
        id: 'warm-cache',
        criticality: 'optional',
        run: () => {
          throw new Error('cache busy');
        },
      })
      .step('preUpgrade', { id: 'export-config', run: () => void ran.push('export-config') })
      .step('preStart', {
        id: 'migrate-schema',
        run: () => {
          throw new Error('syntax error near ALTER');
        },
      })
      .step('postStart', { id: 'smoke-test', run: () => void ran.push('smoke-test') });
    const result = await upgrade.run();
    expect(result.status).toBe('failed');
    expect(result.rollbackOffered).toBe(true);
    expect(result.stages.map((s) => [s.stage, s.status]).slice(3)).toEqual([
      ['preUpgrade', 'partial'],
      ['preStart', 'failed'],
    ]);
    expect(ran).toEqual(['export-config']);
    expect(result.error?.message).toMatch(/Stage preStart stopped: a core step failed/);
    expect(result.error?.message).toMatch(/migrate-schema: .*syntax error near ALTER/);
    const status = await upgrade.status();
    expect(Object.fromEntries(status.steps.map((s) => [s.id, s.status]))).toEqual({
      'notify-crm': 'failed',
      'warm-cache': 'failed',
      'export-config': 'succeeded',
      'migrate-schema': 'failed',
      'smoke-test': 'pending',
    });
    await upgrade.close();
  });

  it('retries a step with cleanup in between, and does not retry an authentication failure', async () => {
    const { upgrade, seen, options } = setup();
    const journal: string[] = [];
    let calls = 0;
    upgrade.step('preUpgrade', {
      id: 'upload',
      retry: { attempts: 3, minDelayMs: 10, jitter: false },
      cleanup: () => void journal.push('cleanup'),
      run: () => {
        journal.push(`attempt ${++calls}`);
        if (calls < 3) throw Object.assign(new Error('connection reset'), { code: 'ECONNRESET' });
      },
    });
    upgrade.step('preUpgrade', {
      id: 'login',
      retry: { attempts: 5, minDelayMs: 10 },
      run: () => {
        journal.push('login');
        throw new Error('All configured authentication methods failed');
      },
    });
    const result = await upgrade.runStage('preUpgrade');
    expect(journal).toEqual(['attempt 1', 'cleanup', 'attempt 2', 'cleanup', 'attempt 3', 'login']);
    expect(result.steps.map((s) => [s.id, s.status, s.attempts])).toEqual([
      ['upload', 'succeeded', 3],
      ['login', 'failed', 1],
    ]);
    expect(result.error?.message).toMatch(/authentication/);
    const retries = seen.filter((e) => e.type === 'retry');
    expect(retries.map((e) => (e.type === 'retry' ? [e.step, e.reason, e.decision] : []))).toEqual([
      ['upload', 'network', 'retry'],
      ['upload', 'network', 'retry'],
      ['login', 'auth', 'fail-now'],
    ]);
    // Each attempt is its own upgrade_log row.
    const attempts = await withStore(options.state as { filename: string }, (store) =>
      store.log({ taskId: 'upload' }),
    );
    expect(attempts.map((r) => [r.attempt, r.status])).toEqual([
      [1, 'failed'],
      [2, 'failed'],
      [3, 'succeeded'],
    ]);
    await upgrade.close();
  });

  it('times out a hanging step with the full diagnosis', async () => {
    const { upgrade, seen } = setup();
    upgrade.step('preStart', {
      id: 'rebuild-index',
      kind: 'database',
      timeoutMs: 300,
      run: () => new Promise(() => {}),
    });
    const result = await upgrade.runStage('preStart');
    expect(result.status).toBe('failed');
    const cause = result.steps[0]!.error;
    expect(isUpgradeKitError(cause, 'UPGRADEKIT_TIMEOUT')).toBe(true);
    expect(cause?.message).toMatch(/Step timed out: \[preStart\] rebuild-index/);
    expect(cause?.message).toMatch(/category: database/);
    expect(seen.some((e) => e.type === 'timeout.warning' && e.step === 'rebuild-index')).toBe(true);
    await upgrade.close();
  });
});

describe('in doubt and operator decisions', () => {
  it('a step left running by a dead run stops the upgrade until resolved', async () => {
    const { upgrade, options } = setup();
    let runs = 0;
    const step = { id: 'send-invoices', run: () => void runs++ };
    upgrade.step('postStart', step);
    // What a crashed run leaves behind: the step recorded as running under another run id.
    const store = await StateStore.open(options.state as { filename: string });
    await store.beginStep({
      component: 'dr-platform',
      site: 'site-042',
      host: '',
      taskVersion: '2.16.7',
      taskId: 'send-invoices',
      runId: 'crashed-run',
      taskName: 'send-invoices',
      stage: 'postStart',
      versionFrom: '2.16.5',
      versionTo: '2.16.7',
      attempt: 1,
      startedAt: Date.now(),
    });
    await store.close();
    expect((await upgrade.status()).counts.inDoubt).toBe(1);
    const blocked = await upgrade.runStage('postStart');
    expect(blocked.status).toBe('needs-decision');
    expect(isUpgradeKitError(blocked.error, 'UPGRADEKIT_IN_DOUBT')).toBe(true);
    expect(blocked.error?.message).toMatch(/crashed-run/);
    expect(runs).toBe(0);
    await upgrade.resolve('send-invoices', 'retry');
    expect((await upgrade.runStage('postStart')).status).toBe('succeeded');
    expect(runs).toBe(1);
    await expect(upgrade.resolve('no-such-step', 'applied')).rejects.toThrow(/no step "no-such-step"/);
    // @ts-expect-error — not a decision
    await expect(upgrade.resolve('send-invoices', 'maybe')).rejects.toThrow(/"applied" or "retry"/);
    await upgrade.close();
  });
});

describe('a crash between the two writes that end an attempt', () => {
  it("is settled from the attempt's own log row: succeeded is not re-run, failed is", async () => {
    const { upgrade, options } = setup();
    const runs: string[] = [];
    upgrade.step('postStart', { id: 'notify', run: () => void runs.push('notify') });
    upgrade.step('postStart', { id: 'reindex', run: () => void runs.push('reindex') });
    const store = await StateStore.open(options.state as { filename: string });
    for (const [taskId, ending] of [
      ['notify', 'succeeded'],
      ['reindex', 'failed'],
    ] as const) {
      const logId = await store.beginStep({
        component: 'dr-platform',
        site: 'site-042',
        host: '',
        taskVersion: '2.16.7',
        taskId,
        runId: 'crashed-run',
        taskName: taskId,
        stage: 'postStart',
        versionFrom: '2.16.5',
        versionTo: '2.16.7',
        attempt: 1,
        startedAt: Date.now(),
      });
      // endStep's first write landed (the log row), the second (the state) did not.
      await store.knex('upgrade_log').where({ id: logId }).update({ status: ending, end_time: Date.now() });
    }
    const result = await upgrade.runStage('postStart');
    expect(result.status).toBe('succeeded');
    expect(result.steps[0]).toMatchObject({
      id: 'notify',
      status: 'skipped',
      reason: expect.stringMatching(/recorded in its log/),
    });
    expect(runs).toEqual(['reindex']);
    expect((await store.log({ taskId: 'notify' })).filter((r) => r.status === 'succeeded')).toHaveLength(1);
    await store.close();
    await upgrade.close();
  });
});

describe('one run per site', () => {
  it('a second runner on the same site fails at once, naming the holder; another site proceeds', async () => {
    const { options } = setup();
    const first = createUpgrade(options);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const started = new Promise<void>((r) => (entered = r));
    first.step('preUpgrade', {
      id: 'slow',
      run: async () => {
        entered();
        await gate;
      },
    });
    const running = first.runStage('preUpgrade');
    await started;
    const second = createUpgrade(options).step('preUpgrade', { id: 'slow', run: () => {} });
    const error = await second.runStage('preUpgrade').catch((e: unknown) => e);
    expect(isUpgradeKitError(error, 'UPGRADEKIT_LOCKED')).toBe(true);
    expect((error as Error).message).toMatch(new RegExp(`pid ${process.pid}`));
    const other = createUpgrade({ ...options, site: 'site-043' }).step('preUpgrade', {
      id: 'slow',
      run: () => {},
    });
    expect((await other.runStage('preUpgrade')).status).toBe('succeeded');
    release();
    expect((await running).status).toBe('succeeded');
    expect((await second.runStage('preUpgrade')).status).toBe('succeeded'); // the lock was released
    await Promise.all([first.close(), second.close(), other.close()]);
  });
});

describe('SIGTERM', () => {
  it('aborts the running step through its signal, records it and releases the lock', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'uk-sigterm-'));
    const fixture = fileURLToPath(new URL('./fixtures/sigterm.mjs', import.meta.url));
    const child = spawn(process.execPath, [fixture, join(dir, 'state.sqlite')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let sent = false;
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('waiting') && !sent) {
        sent = true;
        child.kill('SIGTERM');
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code).toBe(1);
    expect(out).toMatch(/step saw abort: received SIGTERM/);
    expect(out).toMatch(/"status":"aborted"/);
    const store = await StateStore.open({ filename: join(dir, 'state.sqlite') });
    const [step] = [...(await store.loadSteps('sig', 'site')).values()];
    expect(step?.status).toBe('aborted');
    expect(await store.knex('upgradekit_locks').count({ n: '*' }).first()).toMatchObject({ n: 0 });
    expect((await store.runs('sig', 'site'))[0]?.status).toBe('aborted');
    await store.close();
  });
});
