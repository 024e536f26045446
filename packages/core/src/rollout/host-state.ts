import { randomUUID } from 'node:crypto';
import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import { anObject, checkArguments } from '../options/index.js';
import { decideResume, type ResumeDecision, type ResumeFacts } from '../stages/index.js';
import { SiteLock, type StateStore, type StepKey, type StepRecord, type StepStatus } from '../state/index.js';
import { stepKeyString } from '../state/internal.js';

/** Who a rollout is, in state: every host row shares these, with the host's name in `host`. */
export interface RolloutIdentity {
  readonly id: string;
  readonly component: string;
  readonly site: string;
  readonly from: string;
  readonly to: string;
  readonly stage?: string;
}

export function hostKey(identity: RolloutIdentity, host: string): StepKey {
  return {
    component: identity.component,
    site: identity.site,
    host,
    taskVersion: identity.to,
    taskId: identity.id,
  };
}

/** What the state says about a host before this run touches it. */
export type RecordedHost =
  | { readonly kind: 'done'; readonly record: StepRecord }
  /** A crash interrupted it: `decision` says whether to ask `skipIf`, upgrade it again, or stop. */
  | {
      readonly kind: 'interrupted';
      readonly record: StepRecord;
      readonly facts: ResumeFacts;
      readonly decision: ResumeDecision;
    }
  | { readonly kind: 'pending'; readonly record: StepRecord | undefined };

/** The facts of the shared resume decision for one host's row; `liveRunId` is the run deciding, or the lock holder. */
export function hostFacts(
  record: StepRecord | undefined,
  liveRunId: string | undefined,
  policy: { readonly idempotent: boolean; readonly skipIf: boolean },
  outcome?: string,
): ResumeFacts {
  return {
    status: record?.status,
    ...(record ? { runId: record.runId } : {}),
    runAlive: record !== undefined && record.runId === liveRunId,
    ...(outcome !== undefined ? { outcome } : {}),
    idempotent: policy.idempotent,
    changed: false,
    // A rollout's skipIf answers "is this host on the new version?": asked only after a crash.
    check: policy.skipIf ? 'interrupted' : 'none',
  };
}

/** Reads every host's recorded state and settles crashes between a log row and the state row. */
export async function loadHosts(
  store: StateStore,
  identity: RolloutIdentity,
  hosts: readonly string[],
  runId: string,
  policy: { readonly idempotent: boolean; readonly skipIf: boolean },
): Promise<Map<string, RecordedHost>> {
  const all = await store.loadSteps(identity.component, identity.site);
  const result = new Map<string, RecordedHost>();
  for (const host of hosts) {
    const key = hostKey(identity, host);
    const record = all.get(stepKeyString(key));
    if (!record) {
      result.set(host, { kind: 'pending', record: undefined });
      continue;
    }
    // The process may have died after logging the host's end but before updating its state row.
    const outcome =
      record.status === 'running' && record.runId !== runId && record.logId !== undefined
        ? await store.attemptOutcome(record.logId)
        : undefined;
    const facts = hostFacts(record, runId, policy, outcome);
    const decision = decideResume(facts);
    if (decision.write === 'from-log') await store.settleFromLog(key, decision.state);
    if (decision.action === 'skip') result.set(host, { kind: 'done', record });
    else if (decision.interrupted) result.set(host, { kind: 'interrupted', record, facts, decision });
    else result.set(host, { kind: 'pending', record });
  }
  return result;
}

export async function setHostStatus(
  store: StateStore,
  identity: RolloutIdentity,
  host: string,
  status: StepStatus,
  runId: string,
  reason: string,
): Promise<void> {
  await store.setStepStatus(hostKey(identity, host), status, {
    runId,
    stage: identity.stage ?? 'rollout',
    taskName: `${identity.id} on ${host}`,
    versionFrom: identity.from,
    versionTo: identity.to,
    reason,
  });
}

/**
 * Settles a host a crash left in doubt, by an operator's decision: `applied` records it as upgraded,
 * `retry` lets the next run upgrade it again. Written to `upgrade_log` as an audited decision.
 *
 * @example
 * await resolveRolloutHost(state, { id: 'rollout:app', component: 'app', site: 's1', from: '1.0.0', to: '2.0.0' }, 'app-3', 'retry');
 */
export async function resolveRolloutHost(
  store: StateStore,
  identity: RolloutIdentity,
  host: string,
  decision: 'applied' | 'retry',
): Promise<void> {
  if (decision !== 'applied' && decision !== 'retry') {
    throw new UpgradeKitError(
      ErrorCodes.BAD_INPUT,
      `resolveRolloutHost: decision must be "applied" or "retry" (got ${JSON.stringify(decision)})`,
    );
  }
  await setHostStatus(
    store,
    identity,
    host,
    decision === 'applied' ? 'succeeded' : 'pending',
    randomUUID(),
    `resolved by operator: ${decision}`,
  );
}

export interface RolloutHostState {
  readonly host: string;
  /** As recorded; `pending` when the host has no row yet. A dead run's `running` reads `in_doubt`. */
  readonly status: StepStatus;
  /** `to` once succeeded; `from` when never attempted; otherwise `unknown` (state alone cannot say). */
  readonly version: string;
  readonly attempt: number;
  readonly runId?: string;
  readonly endedAt?: number;
  readonly error?: string;
}

/**
 * Where each host of a rollout stands, from state alone — read-only, no lock, no connection: what a
 * `status` command prints while or after a rollout runs. Hosts without a row are `pending`.
 *
 * @example
 * const rows = await rolloutStatus(state, { id: 'rollout:app', component: 'app', site: 's1', from: '1.0.0', to: '2.0.0' }, ['app-1', 'app-2']);
 * // [{ host: 'app-1', status: 'succeeded', version: '2.0.0', … }, { host: 'app-2', status: 'pending', version: '1.0.0', … }]
 */
export async function rolloutStatus(
  store: StateStore,
  identity: RolloutIdentity,
  hosts?: readonly string[],
): Promise<RolloutHostState[]> {
  checkArguments(
    'rolloutStatus',
    { store: anObject('a StateStore'), identity: anObject('{ id, component, site, to }') },
    { store, identity },
  );
  const [all, holder] = await Promise.all([
    store.loadSteps(identity.component, identity.site),
    SiteLock.holder(store, identity.component, identity.site),
  ]);
  const recorded = [...all.values()].filter(
    (r) => r.host !== '' && r.taskId === identity.id && r.taskVersion === identity.to,
  );
  const names = hosts ?? recorded.map((r) => r.host);
  return Promise.all(
    names.map(async (host): Promise<RolloutHostState> => {
      const record = all.get(stepKeyString(hostKey(identity, host)));
      if (!record) return { host, status: 'pending', version: identity.from, attempt: 0 };
      const dead =
        record.status === 'running' && record.runId !== holder?.runId && record.logId !== undefined;
      const outcome = dead ? await store.attemptOutcome(record.logId!) : undefined;
      // Read-only and without the rollout's options: a dead run's host stands in doubt until a
      // run asks its check or an operator decides.
      const { state: status } = decideResume(
        hostFacts(record, holder?.runId, { idempotent: false, skipIf: false }, outcome),
      );
      return {
        host,
        status,
        version: status === 'succeeded' || status === 'skipped' ? identity.to : 'unknown',
        attempt: record.attempt,
        runId: record.runId,
        ...(record.endedAt !== undefined ? { endedAt: record.endedAt } : {}),
        ...(record.error !== undefined && status !== 'succeeded' ? { error: record.error } : {}),
      };
    }),
  );
}
