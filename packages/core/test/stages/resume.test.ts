// The one resume decision (DESIGN §2, stages/resume.ts): every row of its table, then run, dry run
// and status taking it on the same recorded states and agreeing.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createUpgrade,
  decideResume,
  type ResumeAction,
  type ResumeFacts,
  StateStore,
  type StepStatus,
} from '@upgradekit/core';
import { describe, expect, it } from 'vitest';

const base: ResumeFacts = {
  status: undefined,
  runAlive: false,
  idempotent: false,
  changed: false,
  check: 'none',
};

interface Row {
  readonly name: string;
  readonly facts: Partial<ResumeFacts>;
  readonly action: ResumeAction;
  readonly state: StepStatus;
  readonly write?: 'from-log' | 'decided';
  readonly interrupted?: boolean;
  readonly needsOperator?: boolean;
  readonly reason?: string | RegExp;
  readonly note?: RegExp;
}

const dead = { runId: 'r1', runAlive: false } as const;

const TABLE: readonly Row[] = [
  // Never ran, or pending.
  { name: 'never ran, no check', facts: {}, action: 'run', state: 'pending' },
  {
    name: 'never ran, a skipIf not asked yet',
    facts: { check: 'always' },
    action: 'check',
    state: 'pending',
    reason: 'its check decides',
  },
  {
    name: 'never ran, skipIf says applied',
    facts: { check: 'always', answer: 'applied' },
    action: 'skip',
    state: 'skipped',
    write: 'decided',
    reason: 'skipIf: already done',
  },
  {
    name: 'never ran, skipIf says not applied',
    facts: { check: 'always', answer: 'not-applied' },
    action: 'run',
    state: 'pending',
  },
  {
    name: "pending, a rollout's check (asked only after a crash)",
    facts: { status: 'pending', runId: 'r1', check: 'interrupted' },
    action: 'run',
    state: 'pending',
  },
  {
    name: 'pending with progress (an operator resolved it)',
    facts: { status: 'pending', runId: 'r1', progress: 'part 3 of 3 runs next' },
    action: 'resume',
    state: 'pending',
    reason: 'resumes: part 3 of 3 runs next',
  },
  // Done.
  {
    name: 'succeeded',
    facts: { status: 'succeeded', runId: 'r1', check: 'always' },
    action: 'skip',
    state: 'succeeded',
    reason: 'already done: succeeded in run r1',
  },
  {
    name: 'skipped by its check before',
    facts: { status: 'skipped', runId: 'r1' },
    action: 'skip',
    state: 'skipped',
    reason: 'already done: skipped in run r1',
  },
  {
    name: 'succeeded, content changed since: still not run again, and said so',
    facts: { status: 'succeeded', runId: 'r1', changed: true },
    action: 'skip',
    state: 'succeeded',
    reason: 'already done: succeeded in run r1',
    note: /content changed since \(see validate\(\) and repair\(\)\)/,
  },
  // Failed (not interrupted).
  {
    name: 'failed',
    facts: { status: 'failed', runId: 'r1' },
    action: 'run',
    state: 'failed',
    reason: 'failed in run r1; runs again',
  },
  {
    name: 'failed, with progress of its own',
    facts: { status: 'failed', runId: 'r1', progress: 'part 2 of 3 runs next' },
    action: 'resume',
    state: 'failed',
    reason: 'failed in run r1; resumes: part 2 of 3 runs next',
  },
  {
    name: 'failed, with progress, content changed since',
    facts: { status: 'failed', runId: 'r1', progress: 'part 2 of 3 runs next', changed: true },
    action: 'resume',
    state: 'failed',
    reason: 'failed in run r1; resumes: part 2 of 3 runs next',
    note: /content changed since its last attempt/,
  },
  {
    name: 'failed, with a skipIf: asked again',
    facts: { status: 'failed', runId: 'r1', check: 'always' },
    action: 'check',
    state: 'failed',
  },
  // Left running or aborted by the run that is deciding (or holds the lock): not a crash.
  {
    name: 'running in the live run',
    facts: { status: 'running', runId: 'r1', runAlive: true },
    action: 'run',
    state: 'running',
    interrupted: false,
  },
  {
    name: 'aborted in the live run',
    facts: { status: 'aborted', runId: 'r1', runAlive: true },
    action: 'run',
    state: 'aborted',
    interrupted: false,
  },
  // A crash between the two writes that end an attempt: its own log row settles it.
  {
    name: 'dead run, log row says succeeded',
    facts: { status: 'running', ...dead, outcome: 'succeeded' },
    action: 'skip',
    state: 'succeeded',
    write: 'from-log',
    reason: 'already done: succeeded in run r1 (recorded in its log)',
  },
  {
    name: 'dead run, log row says failed',
    facts: { status: 'running', ...dead, outcome: 'failed' },
    action: 'run',
    state: 'failed',
    write: 'from-log',
    reason: 'failed in run r1; runs again',
    interrupted: false,
  },
  {
    name: 'dead run, log row says failed, a skipIf not asked yet',
    facts: { status: 'running', ...dead, outcome: 'failed', check: 'always' },
    action: 'check',
    state: 'failed',
    write: 'from-log',
  },
  {
    name: 'dead run, log row says failed, skipIf says applied',
    facts: { status: 'running', ...dead, outcome: 'failed', check: 'always', answer: 'applied' },
    action: 'skip',
    state: 'skipped',
    write: 'decided',
  },
  {
    name: 'a live run, log row says succeeded: nothing to settle',
    facts: { status: 'running', runId: 'r1', runAlive: true, outcome: 'succeeded' },
    action: 'run',
    state: 'running',
  },
  // Interrupted: in doubt until a check, idempotence or an operator settles it.
  {
    name: 'dead run left it running, log row still running, a skipIf not asked yet',
    facts: { status: 'running', ...dead, outcome: 'running', check: 'always' },
    action: 'check',
    state: 'in_doubt',
    interrupted: true,
    reason: 'interrupted in run r1; its check decides',
  },
  {
    name: 'dead run, log row says aborted, a rollout check not asked yet',
    facts: { status: 'running', ...dead, outcome: 'aborted', check: 'interrupted' },
    action: 'check',
    state: 'in_doubt',
    interrupted: true,
  },
  {
    name: 'interrupted, the check found it applied',
    facts: { status: 'running', ...dead, check: 'always', answer: 'applied' },
    action: 'skip',
    state: 'succeeded',
    write: 'decided',
    interrupted: true,
    reason: 'interrupted in run r1; its check found it applied',
  },
  {
    name: 'aborted by a dead run, the check found it not applied',
    facts: { status: 'aborted', ...dead, check: 'always', answer: 'not-applied' },
    action: 'run',
    state: 'in_doubt',
    interrupted: true,
    reason: 'interrupted in run r1; its check found it not applied; runs again',
  },
  {
    name: 'aborted by a dead run that rolled it back (settled): stopped, not interrupted',
    facts: { status: 'aborted', ...dead, settled: true, idempotent: true, progress: 'statement 2 of 3 next' },
    action: 'resume',
    state: 'aborted',
    interrupted: false,
    reason: 'stopped in run r1, nothing of it left in doubt; resumes: statement 2 of 3 next',
  },
  {
    name: 'aborted and settled, with a check: the check decides, nothing in doubt',
    facts: { status: 'aborted', ...dead, settled: true, check: 'always' },
    action: 'check',
    state: 'aborted',
    interrupted: false,
  },
  {
    name: 'interrupted, the check could not answer, idempotent',
    facts: { status: 'running', ...dead, check: 'interrupted', answer: 'unknown', idempotent: true },
    action: 'run',
    state: 'in_doubt',
    reason: 'interrupted in run r1; idempotent; runs again',
  },
  {
    name: 'interrupted, the check could not answer, not idempotent',
    facts: { status: 'running', ...dead, check: 'interrupted', answer: 'unknown' },
    action: 'blocked',
    state: 'in_doubt',
    write: 'decided',
  },
  {
    name: 'interrupted, no check, idempotent',
    facts: { status: 'running', ...dead, idempotent: true },
    action: 'run',
    state: 'in_doubt',
    interrupted: true,
    reason: 'interrupted in run r1; idempotent; runs again',
  },
  {
    name: 'interrupted, no check, idempotent, progress of its own',
    facts: { status: 'aborted', ...dead, idempotent: true, progress: 'part 2 of 3 in doubt' },
    action: 'resume',
    state: 'in_doubt',
    // Exact progress, not idempotence, is what makes it safe: the reason says what it resumes at.
    reason: 'interrupted in run r1; resumes: part 2 of 3 in doubt',
    needsOperator: false,
  },
  {
    name: 'interrupted, no check, idempotent, progress it does not describe',
    facts: { status: 'running', ...dead, idempotent: true, progress: '' },
    action: 'resume',
    state: 'in_doubt',
    reason: 'interrupted in run r1; resumes from its saved progress',
  },
  {
    name: 'interrupted, idempotent, but its progress leaves a part in doubt: it resumes only to stop there',
    facts: {
      status: 'running',
      ...dead,
      idempotent: true,
      progress: 'part 2 of 3 in doubt',
      progressInDoubt: 'part 2 of 3, which commits on its own, was running',
    },
    action: 'resume',
    state: 'in_doubt',
    interrupted: true,
    needsOperator: true,
    reason:
      'interrupted in run r1: part 2 of 3, which commits on its own, was running and may or may not have taken effect; in doubt until resolved (applied or retry)',
  },
  {
    name: 'in doubt since a later run stopped on that part: the same, naming that run',
    facts: {
      status: 'in_doubt',
      runId: 'r2',
      idempotent: true,
      progress: 'part 2 of 3 in doubt',
      progressInDoubt: 'part 2 of 3, which commits on its own, was running',
    },
    action: 'resume',
    state: 'in_doubt',
    needsOperator: true,
    reason: /^in doubt since run r2: part 2 of 3/,
  },
  {
    name: 'its check found it applied: a part in doubt does not matter',
    facts: {
      status: 'running',
      ...dead,
      check: 'always',
      answer: 'applied',
      progressInDoubt: 'part 2 of 3 was running',
    },
    action: 'skip',
    state: 'succeeded',
    write: 'decided',
    needsOperator: false,
  },
  {
    name: 'interrupted, no check, not idempotent: blocked, recorded in doubt',
    facts: { status: 'running', ...dead },
    action: 'blocked',
    state: 'in_doubt',
    write: 'decided',
    interrupted: true,
    needsOperator: true,
    reason:
      'interrupted in run r1 and may or may not have taken effect; in doubt until resolved (applied or retry)',
  },
  {
    name: 'in doubt already, not idempotent: blocked, nothing to write',
    facts: { status: 'in_doubt', runId: 'r1', runAlive: true },
    action: 'blocked',
    state: 'in_doubt',
    interrupted: true,
  },
  {
    name: 'in doubt already, idempotent',
    facts: { status: 'in_doubt', runId: 'r1', idempotent: true, outcome: 'succeeded' },
    action: 'run',
    state: 'in_doubt',
    interrupted: true,
  },
];

describe('decideResume: the table', () => {
  it.each(TABLE.map((row) => [row.name, row] as const))('%s', (_name, row) => {
    const decision = decideResume({ ...base, ...row.facts });
    expect(decision.action).toBe(row.action);
    expect(decision.state).toBe(row.state);
    expect(decision.write).toBe(row.write);
    if (row.interrupted !== undefined) expect(decision.interrupted).toBe(row.interrupted);
    // Only `blocked` and a part in doubt ask an operator; everything else the run settles itself.
    expect(decision.needsOperator).toBe(row.needsOperator ?? row.action === 'blocked');
    if (typeof row.reason === 'string') expect(decision.reason).toBe(row.reason);
    else if (row.reason) expect(decision.reason).toMatch(row.reason);
    if (row.note) expect(decision.note).toMatch(row.note);
    else expect(decision.note).toBeUndefined();
    expect(decision.changed).toBe(row.facts.changed ?? false);
  });

  it('covers every action and every recorded status', () => {
    const actions = new Set(TABLE.map((r) => r.action));
    expect([...actions].sort()).toEqual(['blocked', 'check', 'resume', 'run', 'skip']);
    const statuses = new Set(TABLE.map((r) => r.facts.status ?? 'none'));
    expect([...statuses].sort()).toEqual(
      ['aborted', 'failed', 'in_doubt', 'none', 'pending', 'running', 'skipped', 'succeeded'].sort(),
    );
  });
});

describe('run, dry run and status take the same decision', () => {
  /** An upgrade with one postStart step and, in its state, what a crashed run left of it. */
  async function crashed(options: {
    id: string;
    idempotent?: boolean;
    skipIf?: () => boolean;
    logEnding?: string;
    status?: 'running' | 'aborted';
  }) {
    const dir = mkdtempSync(join(tmpdir(), 'uk-resume-'));
    const state = { filename: join(dir, 'state.sqlite') };
    const runs: string[] = [];
    const upgrade = createUpgrade({ component: 'c', from: '1.0.0', to: '1.1.0', site: 's', state });
    upgrade.step('postStart', {
      id: options.id,
      ...(options.idempotent !== undefined ? { idempotent: options.idempotent } : {}),
      ...(options.skipIf ? { skipIf: options.skipIf } : {}),
      run: () => void runs.push(options.id),
    });
    const store = await StateStore.open(state);
    const key = { component: 'c', site: 's', host: '', taskVersion: '1.1.0', taskId: options.id };
    const logId = await store.beginStep({
      ...key,
      runId: 'crashed-run',
      taskName: options.id,
      stage: 'postStart',
      versionFrom: '1.0.0',
      versionTo: '1.1.0',
      attempt: 1,
      startedAt: Date.now(),
    });
    if (options.logEnding)
      await store.knex('upgrade_log').where({ id: logId }).update({ status: options.logEnding });
    if (options.status === 'aborted') await store.knex('upgradekit_steps').update({ status: 'aborted' });
    await store.close();
    const views = async () => {
      const [row] = (await upgrade.status()).steps;
      const [dry] = await upgrade.dryRun({ stages: ['postStart'] });
      return { status: row!.status, next: row!.next.action, dry: dry!.action, dryReason: dry!.reason };
    };
    return { upgrade, runs, views };
  }

  it('a step whose log row says it succeeded: done for all three, and never run again', async () => {
    const { upgrade, runs, views } = await crashed({ id: 'notify', logEnding: 'succeeded' });
    // Status used to call it in doubt here while the run skipped it.
    expect(await views()).toEqual({
      status: 'succeeded',
      next: 'skip',
      dry: 'skip',
      dryReason: 'already done: succeeded in run crashed-run (recorded in its log)',
    });
    const result = await upgrade.runStage('postStart');
    expect(result.steps[0]).toMatchObject({ status: 'skipped', reason: /recorded in its log/ });
    expect(runs).toEqual([]);
    expect(await views()).toMatchObject({ status: 'succeeded', next: 'skip', dry: 'skip' });
    await upgrade.close();
  });

  it('an idempotent step a dead run left aborted: interrupted for status (no decision asked), run again by dry run and run', async () => {
    const { upgrade, runs, views } = await crashed({ id: 'reindex', idempotent: true, status: 'aborted' });
    expect(await views()).toEqual({
      status: 'interrupted',
      next: 'run',
      dry: 'run',
      dryReason: 'interrupted in run crashed-run; idempotent; runs again',
    });
    expect((await upgrade.runStage('postStart')).status).toBe('succeeded');
    expect(runs).toEqual(['reindex']);
    await upgrade.close();
  });

  it('a step with a skipIf: status says its check decides; dry run asks it; the run records its answer', async () => {
    const { upgrade, runs, views } = await crashed({ id: 'warm', skipIf: () => true });
    const status = await upgrade.status();
    expect(status.steps[0]!.next).toEqual({
      action: 'check',
      reason: 'interrupted in run crashed-run; its check decides',
      needsOperator: false,
    });
    // Its check settles it on the next run: nothing for an operator to decide.
    expect(status.counts).toMatchObject({ inDoubt: 0, interrupted: 1 });
    expect(await views()).toMatchObject({
      status: 'interrupted',
      dry: 'skip',
      dryReason: 'interrupted in run crashed-run; its check found it applied',
    });
    expect((await upgrade.runStage('postStart')).steps[0]).toMatchObject({
      status: 'skipped',
      reason: 'interrupted in run crashed-run; its check found it applied',
    });
    expect(runs).toEqual([]);
    expect(await views()).toMatchObject({ status: 'succeeded', dry: 'skip' });
    await upgrade.close();
  });

  it('a step that is neither: blocked for all three until an operator decides', async () => {
    const { upgrade, runs, views } = await crashed({ id: 'send' });
    expect(await views()).toMatchObject({ status: 'in_doubt', next: 'blocked', dry: 'blocked' });
    expect((await upgrade.runStage('postStart')).status).toBe('needs-decision');
    expect(runs).toEqual([]);
    await upgrade.resolve('send', 'retry');
    expect(await views()).toMatchObject({ status: 'pending', next: 'run', dry: 'run' });
    await upgrade.close();
  });
});
