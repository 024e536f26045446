// An operator's decision (`upgrade.resolve`) on a step that keeps progress of its own, through the
// step's `resolveProgress` and `describeProgress` hooks; on a step without them; and steps named
// by (version, id).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createUpgrade,
  ErrorCodes,
  isUpgradeKitError,
  type ProgressResolution,
  type ResolveDecision,
  type StepDefinition,
  type Upgrade,
  UpgradeKitError,
} from '@upgradekit/core';
import { describe, expect, it } from 'vitest';
import { leaveCrashedStep, withStore } from '#test-support';

const PARTS = 3;

/** `{ at, started }`: part `at` runs next; `started` says it was running when the process died. */
interface Parts {
  readonly at: number;
  readonly started?: boolean;
}

const read = (progress: string | undefined): Parts | undefined =>
  progress ? (JSON.parse(progress) as Parts) : undefined;

/** The words status shows and resolve says, from one place. */
function describe3(progress: string | undefined): string | undefined {
  const p = read(progress);
  if (!p) return undefined;
  return p.started ? `part ${p.at} of ${PARTS} in doubt` : `part ${p.at} of ${PARTS} runs next`;
}

function resolveParts(progress: string | undefined, decision: ResolveDecision): ProgressResolution {
  const at = read(progress)?.at ?? 1;
  const next =
    decision.kind === 'applied'
      ? at + 1
      : decision.kind === 'retry'
        ? at
        : decision.kind === 'restart'
          ? 1
          : decision.position;
  if (next > PARTS) return { progress: undefined, done: true, message: `all ${PARTS} parts done` };
  const saved = next === 1 ? undefined : JSON.stringify({ at: next });
  return {
    progress: saved,
    done: false,
    message: saved ? describe3(saved)! : 'from the start: part 1 runs next',
  };
}

/**
 * A step of three parts that saves progress around each one, like a file of statements; `fail`
 * makes a part throw once. Like a statement that commits on its own, a part a crash interrupted
 * (`started`) is in doubt: the step stops on it, and says so beforehand (`progressInDoubt`).
 */
function partsStep(ran: number[], fail: Set<number>): StepDefinition<'preStart'> {
  return {
    id: 'parts',
    version: '1.1.0',
    idempotent: true,
    resolveProgress: resolveParts,
    describeProgress: describe3,
    progressInDoubt: (progress) => {
      const p = read(progress);
      return p?.started ? `part ${p.at} of ${PARTS} was running` : undefined;
    },
    run: async (ctx) => {
      const left = read(ctx.progress);
      if (left?.started) {
        throw new UpgradeKitError(ErrorCodes.IN_DOUBT, `part ${left.at} of ${PARTS} is in doubt`);
      }
      for (let at = read(ctx.progress)?.at ?? 1; at <= PARTS; at++) {
        await ctx.saveProgress(JSON.stringify({ at, started: true }));
        ran.push(at);
        if (fail.delete(at)) {
          await ctx.saveProgress(JSON.stringify({ at }));
          throw new Error(`part ${at} failed`);
        }
        await ctx.saveProgress(JSON.stringify({ at: at + 1 }));
      }
    },
  };
}

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'uk-resolve-'));
  const state = { filename: join(dir, 'state.sqlite') };
  const make = () => createUpgrade({ component: 'c', from: '1.0.0', to: '1.1.0', site: 's', state });
  return { state, make };
}

async function row(upgrade: Upgrade, id: string) {
  return (await upgrade.status()).steps.find((s) => s.id === id)!;
}

describe('a step that keeps progress of its own', () => {
  it('applied continues after the failed part, and says what status then shows', async () => {
    const { make } = setup();
    const ran: number[] = [];
    const upgrade = make().step('preStart', partsStep(ran, new Set([2])));
    expect((await upgrade.runStage('preStart')).status).toBe('failed');
    expect(await row(upgrade, 'parts')).toMatchObject({
      status: 'failed',
      progress: 'part 2 of 3 runs next',
      next: { action: 'resume', reason: expect.stringMatching(/; resumes: part 2 of 3 runs next$/) },
    });
    const [dry] = await upgrade.dryRun({ stages: ['preStart'] });
    expect(dry).toMatchObject({ action: 'resume', progress: 'part 2 of 3 runs next' });

    const resolved = await upgrade.resolve('parts', 'applied');
    expect(resolved).toMatchObject({
      id: 'parts',
      version: '1.1.0',
      decision: { kind: 'applied' },
      status: 'pending',
      message: 'part 3 of 3 runs next',
    });
    // What resolve said is what status shows.
    expect(await row(upgrade, 'parts')).toMatchObject({
      status: 'pending',
      progress: resolved.message,
      next: { action: 'resume', reason: `resumes: ${resolved.message}` },
    });
    expect((await upgrade.runStage('preStart')).status).toBe('succeeded');
    expect(ran).toEqual([1, 2, 3]); // part 2 was not run again
    await upgrade.close();
  });

  it('retry runs the failed part again; restart from the very start; from N at part N', async () => {
    for (const [decision, expected, message] of [
      ['retry', [2, 3], 'part 2 of 3 runs next'],
      [{ kind: 'retry' }, [2, 3], 'part 2 of 3 runs next'],
      [{ kind: 'restart' }, [1, 2, 3], 'from the start: part 1 runs next'],
      [{ kind: 'from', position: 3 }, [3], 'part 3 of 3 runs next'],
    ] as const) {
      const ran: number[] = [];
      const upgrade = createUpgrade({
        component: 'c',
        from: '1.0.0',
        to: '1.1.0',
        site: `s-${JSON.stringify(decision)}`,
        state: { filename: join(mkdtempSync(join(tmpdir(), 'uk-resolve-')), 'state.sqlite') },
      }).step('preStart', partsStep(ran, new Set([2])));
      await upgrade.runStage('preStart');
      const resolved = await upgrade.resolve('parts', decision);
      expect(resolved.message).toBe(message);
      const after = await row(upgrade, 'parts');
      expect(after.status).toBe('pending');
      if (decision === 'retry' || (typeof decision === 'object' && decision.kind !== 'restart'))
        expect(after.progress).toBe(message);
      else expect(after).toMatchObject({ next: { action: 'run' } }); // nothing saved: from the start
      ran.length = 0;
      expect((await upgrade.runStage('preStart')).status).toBe('succeeded');
      expect(ran).toEqual(expected);
      await upgrade.close();
    }
  });

  it('a part in doubt after a crash: applied on the last part makes the step done', async () => {
    const { make, state } = setup();
    const ran: number[] = [];
    const upgrade = make().step('preStart', partsStep(ran, new Set()));
    // What a crash during part 3 leaves: the step running under a dead run, part 3 started.
    await leaveCrashedStep(state, {
      component: 'c',
      site: 's',
      taskId: 'parts',
      progress: { at: 3, started: true },
    });
    // Status knows before any run that resuming stops on part 3: an operator decides.
    expect(await row(upgrade, 'parts')).toMatchObject({
      status: 'in_doubt',
      progress: 'part 3 of 3 in doubt',
      next: {
        action: 'resume',
        needsOperator: true,
        reason:
          'interrupted in run crashed: part 3 of 3 was running and may or may not have taken effect; in doubt until resolved (applied or retry)',
      },
    });
    const [dry] = await upgrade.dryRun({ stages: ['preStart'] });
    expect(dry).toMatchObject({ action: 'blocked' });
    // The run agrees: the step stops on the part in doubt, and no "resumes" line precedes it.
    const logs: string[] = [];
    upgrade.events.on('log', (e) => void logs.push(e.message));
    const stopped = await upgrade.runStage('preStart');
    expect(stopped).toMatchObject({ status: 'needs-decision' });
    expect(logs.filter((m) => m.includes('parts'))).toEqual([]);
    expect(ran).toEqual([]);
    const resolved = await upgrade.resolve('parts', { kind: 'applied' });
    expect(resolved).toMatchObject({ status: 'succeeded', message: 'all 3 parts done' });
    expect(await row(upgrade, 'parts')).toMatchObject({ status: 'succeeded', next: { action: 'skip' } });
    expect((await row(upgrade, 'parts')).progress).toBeUndefined();
    await upgrade.runStage('preStart');
    expect(ran).toEqual([]);
    await upgrade.close();
  });
});

describe('a step without the hooks', () => {
  it('is all or nothing: applied is done, retry and restart run it from the start, from is refused', async () => {
    const { make, state } = setup();
    let runs = 0;
    let fail = true;
    const upgrade = make().step('preStart', {
      id: 'plain',
      run: async (ctx) => {
        runs++;
        await ctx.saveProgress('opaque');
        if (fail) throw new Error('boom');
      },
    });
    await upgrade.runStage('preStart');
    expect(await row(upgrade, 'plain')).toMatchObject({
      status: 'failed',
      next: { action: 'resume', reason: /resumes from its saved progress/ },
    });
    expect(await upgrade.resolve('plain', 'retry')).toMatchObject({
      status: 'pending',
      message: 'pending: the next run runs it from the start',
    });
    const key = { component: 'c', site: 's', host: '', taskVersion: '1.1.0', taskId: 'plain' };
    const step = await withStore(state, (store) => store.getStep(key));
    expect(step?.progress).toBeUndefined(); // retry cleared it
    expect(await upgrade.resolve('plain', { kind: 'restart' })).toMatchObject({ status: 'pending' });

    const error = await upgrade.resolve('plain', { kind: 'from', position: 2 }).catch((e: unknown) => e);
    expect(isUpgradeKitError(error, 'UPGRADEKIT_BAD_INPUT')).toBe(true);
    expect((error as Error).message).toMatch(/step "plain" \(version 1\.1\.0\) does not keep a position/);

    expect(await upgrade.resolve('plain', 'applied')).toMatchObject({
      status: 'succeeded',
      message: 'recorded as done: it will not run again',
    });
    expect(await row(upgrade, 'plain')).toMatchObject({ status: 'succeeded', next: { action: 'skip' } });
    fail = false;
    await upgrade.runStage('preStart');
    expect(runs).toBe(1);

    // @ts-expect-error — not a decision
    await expect(upgrade.resolve('plain', 'maybe')).rejects.toThrow(/"applied" or "retry"/);
    await expect(upgrade.resolve('plain', { kind: 'from', position: 0 })).rejects.toThrow(
      /a whole number ≥ 1 \(got 0\)/,
    );
    await upgrade.close();
  });
});

describe('steps are keyed by (version, id)', () => {
  it('the same id in two versions: both run; resolve needs the version, and says which there are', async () => {
    const { make } = setup();
    const ran: string[] = [];
    const upgrade = make()
      .step('preStart', { id: 'add_a', version: '1.0.5', run: () => void ran.push('1.0.5') })
      .step('preStart', {
        id: 'add_a',
        version: 'v1.1.0',
        run: () => {
          ran.push('1.1.0');
          throw new Error('boom');
        },
      });
    await upgrade.runStage('preStart');
    expect(ran).toEqual(['1.0.5', '1.1.0']);
    expect((await upgrade.status()).steps.map((s) => [s.id, s.version, s.status])).toEqual([
      ['add_a', '1.0.5', 'succeeded'],
      ['add_a', '1.1.0', 'failed'],
    ]);

    const ambiguous = await upgrade.resolve('add_a', 'applied').catch((e: unknown) => e);
    expect(isUpgradeKitError(ambiguous, 'UPGRADEKIT_BAD_INPUT')).toBe(true);
    expect((ambiguous as Error).message).toBe(
      'upgrade.resolve: step "add_a" is in versions 1.0.5, 1.1.0 of this upgrade; say which one (version, --version)',
    );
    await expect(upgrade.resolve('add_a', 'applied', { version: '1.2.0' })).rejects.toThrow(
      'no step "add_a" in version 1.2.0 in this upgrade (it is in version 1.0.5, 1.1.0)',
    );
    expect(await upgrade.resolve('add_a', 'applied', { version: 'V1.1.0' })).toMatchObject({
      version: '1.1.0',
      status: 'succeeded',
    });
    expect((await upgrade.status()).counts).toMatchObject({ done: 2, failed: 0 });
    await upgrade.close();
  });

  it('refuses two steps with the same id in the same version, in any stage, naming both', () => {
    const upgrade = setup().make();
    upgrade.step('preStart', { id: 'x', run: () => {} });
    expect(() => upgrade.step('preStart', { id: 'x', run: () => {} })).toThrow(
      'stage preStart: two steps share the id "x" in version 1.1.0 (step 1 of stage preStart, and step 2 of stage preStart); within one version, ids must be unique',
    );
    // Another stage is the same state row: refused too, and the sources are named when known.
    upgrade.step('postStart', { id: 'y', source: 'versions/1.1.0/tasks.yaml:3', run: () => {} });
    expect(() =>
      upgrade.step('preUpgrade', { id: 'y', source: 'versions/1.1.0/tasks.yaml:9', run: () => {} }),
    ).toThrow(
      /two steps share the id "y" in version 1\.1\.0 \(versions\/1\.1\.0\/tasks\.yaml:3, and versions\/1\.1\.0\/tasks\.yaml:9\)/,
    );
    // Another host or another version is another step.
    upgrade.step('preStart', { id: 'x', host: 'app-1', run: () => {} });
    upgrade.step('preStart', { id: 'x', version: '1.0.9', run: () => {} });
    expect(upgrade.planned('preStart').map((s) => [s.id, s.host, s.key.taskVersion])).toEqual([
      ['x', '', '1.1.0'],
      ['x', 'app-1', '1.1.0'],
      ['x', '', '1.0.9'],
    ]);
  });

  it('a from: scope restarts at the step of its own version', async () => {
    const ran: string[] = [];
    let fails = 1;
    const upgrade = setup()
      .make()
      .step('preStart', { id: 'prepare', version: '1.0.5', run: () => void ran.push('prepare 1.0.5') })
      .step('preStart', { id: 'prepare', version: '1.1.0', run: () => void ran.push('prepare 1.1.0') })
      .step('preStart', {
        id: 'apply',
        version: '1.1.0',
        scope: 'from:prepare',
        retry: { attempts: 2, minDelayMs: 0 },
        run: () => {
          ran.push('apply');
          if (fails-- > 0) throw new Error('first time');
        },
      });
    expect((await upgrade.runStage('preStart')).status).toBe('succeeded');
    expect(ran).toEqual(['prepare 1.0.5', 'prepare 1.1.0', 'apply', 'prepare 1.1.0', 'apply']);
    await upgrade.close();
  });
});
