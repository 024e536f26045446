import { randomUUID } from 'node:crypto';
import { SiteLock } from '../state/index.js';
import type { UpgradeCore } from './core.js';
import { findStep } from './identity.js';
import { stepNaming } from './normalize.js';
import { decisionLabel, parseDecision, type ResolveInput, resolution } from './operator-decision.js';
import type { ResolveResult } from './reports.js';

/**
 * Settles a failed or in-doubt step by an operator's decision: `applied` (the failed or in-doubt
 * part took effect), `retry` (run it again), `restart` (forget saved progress), or
 * `{ kind: 'from', position }`. A step that keeps progress of its own applies the decision to it
 * (`resolveProgress`); any other is done (`applied`) or runs again from the start. Takes the site
 * lock while it writes. `version` names the step when its id is in more than one version.
 */
export async function resolve(
  core: UpgradeCore,
  stepId: string,
  input: ResolveInput,
  options: { host?: string; version?: string } = {},
): Promise<ResolveResult> {
  const decision = parseDecision(input);
  const step = findStep(core.steps.all(), stepId, options, 'upgrade.resolve');
  const store = await core.state();
  const runId = randomUUID();
  const lock = await SiteLock.acquire(store, {
    component: core.component,
    site: core.site.id,
    runId,
    ...core.liveness(),
    events: core.events,
  });
  try {
    const record = await store.getStep(step.key);
    const outcome = resolution(step, record?.progress, decision);
    const status = outcome.done ? 'succeeded' : 'pending';
    const label = decisionLabel(decision);
    await store.setStepStatus(step.key, status, {
      runId,
      stage: step.stage,
      taskName: step.name,
      versionFrom: core.from,
      versionTo: core.to,
      reason: `resolved by operator: ${label} — ${outcome.message}`,
      progress: outcome.progress ?? null,
    });
    core.events.emit({
      type: 'log',
      level: 'warn',
      stage: step.stage,
      step: step.id,
      ...(step.host ? { host: step.host } : {}),
      message: `step ${step.id} (version ${step.key.taskVersion}) resolved by operator as "${label}": ${outcome.message}`,
    });
    return {
      ...stepNaming(step),
      decision,
      status,
      message: outcome.message,
    };
  } finally {
    await lock.release();
  }
}
