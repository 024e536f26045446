import { EventBus } from '../events/index.js';
import type { StageName } from '../model/index.js';
import { toStage } from '../model/internal.js';
import { type LockAssessment, SiteLock, type StateStore, type StepRecord } from '../state/index.js';
import { holderIdentity, procProbe } from '../state/internal.js';
import { compareVersions } from '../version/index.js';
import type { UpgradeCore } from './core.js';
import { interruptedRun, lockStatus } from './interrupted.js';
import { type PlannedStep, recordKey } from './normalize.js';
import type { DryRunEntry, StatusReport, StepStatusRow, StepStatusView } from './reports.js';
import { decideResume, type ResumeDecision, type ResumeFacts } from './resume.js';
import { describeProgress, resumeFacts } from './resume-facts.js';

// Reading an upgrade without running it: where each step stands (`status`) and what a run would
// do now (`dryRun`). Neither takes the lock nor writes; both decide as the next run would.

/**
 * Where every step of this upgrade stands — done, pending, failed, skipped, in doubt (an operator
 * decides), interrupted (the next run resumes it by itself) — what the next run does with each,
 * who holds the site lock, and which run, if any, was interrupted.
 */
export async function status(core: UpgradeCore): Promise<StatusReport> {
  const store = await core.state();
  let { lock, liveRunId, now } = await whoRuns(core, store);
  const states = await store.loadSteps(core.component, core.site.id);
  let [lastRun] = await store.runs(core.component, core.site.id, 1);
  if (!lock && lastRun?.status === 'running') {
    // A run may have taken the lock and recorded itself between the two reads: look again.
    ({ lock, liveRunId, now } = await whoRuns(core, store));
    [lastRun] = await store.runs(core.component, core.site.id, 1);
  }
  const interrupted = interruptedRun(lock, lastRun, {
    identity: core.options.lock.identity ?? holderIdentity(),
    probe: core.options.lock.probe ?? procProbe,
    now,
  });
  const counts = { done: 0, pending: 0, failed: 0, skipped: 0, inDoubt: 0, interrupted: 0, running: 0 };
  const steps: StepStatusRow[] = [];
  for (const step of core.steps.all()) {
    const record = states.get(recordKey(step));
    const { decision } = await readDecision(store, step, record, liveRunId);
    const status: StepStatusView =
      decision.state === 'in_doubt' && !decision.needsOperator ? 'interrupted' : decision.state;
    if (status === 'succeeded') counts.done++;
    else if (status === 'skipped') counts.skipped++;
    else if (status === 'failed') counts.failed++;
    else if (status === 'in_doubt') counts.inDoubt++;
    else if (status === 'interrupted') counts.interrupted++;
    else if (status === 'running') counts.running++;
    else counts.pending++;
    const progress = describeProgress(step, record?.progress);
    steps.push({
      id: step.id,
      stage: step.stage,
      ...(step.host ? { host: step.host } : {}),
      version: step.key.taskVersion,
      status,
      criticality: step.criticality,
      attempt: record?.attempt ?? 0,
      ...(record?.runId ? { runId: record.runId } : {}),
      ...(record?.startedAt ? { startedAt: record.startedAt } : {}),
      ...(record?.endedAt ? { endedAt: record.endedAt } : {}),
      ...(record?.error && status !== 'succeeded' ? { error: record.error } : {}),
      next: {
        action: decision.action,
        ...(decision.reason ? { reason: withNote(decision) } : {}),
        needsOperator: decision.needsOperator,
      },
      ...(progress !== undefined ? { progress } : {}),
    });
  }
  // Steps this program did not register but a run of this upgrade recorded: a team script's
  // hooks seen from the CLI, a rollout's per-host rows. Left out, a failed hook would hide.
  const planned = new Set(core.steps.all().map((step) => recordKey(step)));
  for (const [key, record] of states) {
    const stage = toStage(record.stage);
    if (planned.has(key) || !stage || !inRange(core, record.taskVersion)) continue;
    const outcome =
      record.status === 'running' && record.runId !== liveRunId && record.logId !== undefined
        ? await store.attemptOutcome(record.logId)
        : undefined;
    const decision = decideResume({
      status: record.status,
      runId: record.runId,
      runAlive: record.runId === liveRunId,
      ...(outcome !== undefined ? { outcome } : {}),
      idempotent: false,
      changed: false,
      check: 'none',
    });
    const status: StepStatusView = decision.state;
    if (status === 'succeeded') counts.done++;
    else if (status === 'skipped') counts.skipped++;
    else if (status === 'failed') counts.failed++;
    else if (status === 'in_doubt') counts.inDoubt++;
    else if (status === 'running') counts.running++;
    else counts.pending++;
    steps.push({
      id: record.taskId,
      stage,
      ...(record.host ? { host: record.host } : {}),
      version: record.taskVersion,
      status,
      criticality: 'core',
      attempt: record.attempt,
      runId: record.runId,
      ...(record.startedAt ? { startedAt: record.startedAt } : {}),
      ...(record.endedAt ? { endedAt: record.endedAt } : {}),
      ...(record.error && status !== 'succeeded' ? { error: record.error } : {}),
      registered: false,
      next: {
        action: decision.action,
        reason: `${decision.reason ?? decision.action}; registered by the program that ran it (a script's hook, a rollout host), which decides`,
        needsOperator: decision.needsOperator,
      },
    });
  }
  return {
    component: core.component,
    site: core.site.id,
    from: core.from,
    to: core.to,
    ...(lock ? { lock: lockStatus(lock, now) } : {}),
    ...(interrupted ? { interrupted } : {}),
    ...(lastRun ? { lastRun } : {}),
    steps,
    counts,
  };
}

/**
 * What `run()` (or `runStage()` for the given stages) would do now, without doing it: per step,
 * run, resume or skip and why, or blocked on an operator decision. `skipIf` checks are evaluated
 * (they only read); nothing is written and no lock is taken.
 */
export async function dryRun(core: UpgradeCore, stages: readonly StageName[]): Promise<DryRunEntry[]> {
  const store = await core.state();
  const { liveRunId } = await whoRuns(core, store);
  const states = await store.loadSteps(core.component, core.site.id);
  const executor = core.executor({
    store,
    runId: 'dry-run',
    events: new EventBus(),
    signal: new AbortController().signal,
    states,
  });
  const entries: DryRunEntry[] = [];
  for (const stage of stages) {
    for (const step of core.steps.planned(stage)) {
      const record = states.get(recordKey(step));
      let { decision, facts } = await readDecision(store, step, record, liveRunId);
      if (decision.action === 'check') {
        const applied = await step.definition.skipIf!(
          executor.context(step, 0, new AbortController().signal),
        );
        decision = decideResume({ ...facts, answer: applied ? 'applied' : 'not-applied' });
      }
      const progress = describeProgress(step, record?.progress);
      entries.push({
        stage,
        id: step.id,
        name: step.name,
        version: step.key.taskVersion,
        ...(step.host ? { host: step.host } : {}),
        ...(step.definition.summary ? { summary: step.definition.summary } : {}),
        // A step that resumes only to stop on the part in doubt is, for the operator, blocked.
        action: decision.needsOperator ? 'blocked' : decision.action === 'check' ? 'run' : decision.action,
        ...(decision.reason ? { reason: withNote(decision) } : {}),
        ...(progress !== undefined ? { progress } : {}),
      });
    }
  }
  return entries;
}

/**
 * Who holds the site lock and whether its run is alive, as a reader sees it. A stale holder —
 * proven dead, or silent past its TTL — has no live run: a step it left `running` was
 * interrupted, and gets the same decision the next run will take.
 */
async function whoRuns(
  core: UpgradeCore,
  store: StateStore,
): Promise<{ lock: LockAssessment | undefined; liveRunId: string | undefined; now: number }> {
  const now = Date.now();
  const lock = await SiteLock.assess(store, core.component, core.site.id, { ...core.liveness(), now });
  return { lock, liveRunId: lock && !lock.stale ? lock.holder.runId : undefined, now };
}

/**
 * The resume decision for one step as a reader sees it (no lock taken): `liveRunId` is the site
 * lock's holder while it is alive (`whoRuns`), and a step a dead run left `running` is settled
 * from its attempt's log row.
 */
async function readDecision(
  store: StateStore,
  step: PlannedStep,
  record: StepRecord | undefined,
  liveRunId: string | undefined,
): Promise<{ decision: ResumeDecision; facts: ResumeFacts }> {
  const dead = record?.status === 'running' && record.runId !== liveRunId && record.logId !== undefined;
  const outcome = dead ? await store.attemptOutcome(record.logId!) : undefined;
  const facts = resumeFacts(step, record, { liveRunId, outcome });
  return { decision: decideResume(facts), facts };
}

/** A step of this upgrade's versions: after `from`, up to `to`. */
function inRange(core: UpgradeCore, version: string): boolean {
  try {
    return compareVersions(version, core.from) > 0 && compareVersions(version, core.to) <= 0;
  } catch {
    return false;
  }
}

/** A decision's reason with what a reader should also know (a changed checksum). */
function withNote(decision: ResumeDecision): string {
  return decision.note ? `${decision.reason}; ${decision.note}` : decision.reason!;
}
