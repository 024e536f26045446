import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import type { ProgressResolution, ResolveDecision } from '../model/index.js';
import type { PlannedStep } from './normalize.js';

/** A decision as callers give it: the kinds, or the words `applied` and `retry` of earlier versions. */
export type ResolveInput = ResolveDecision | 'applied' | 'retry';

/** Checks a decision and turns the words into kinds. */
export function parseDecision(input: ResolveInput): ResolveDecision {
  if (input === 'applied' || input === 'retry') return { kind: input };
  const kind = (input as { kind?: unknown } | undefined)?.kind;
  if (kind === 'applied' || kind === 'retry' || kind === 'restart') return { kind };
  if (kind === 'from') {
    const position = (input as { position?: unknown }).position;
    if (typeof position === 'number' && Number.isInteger(position) && position >= 1) {
      return { kind, position };
    }
    throw new UpgradeKitError(
      ErrorCodes.BAD_INPUT,
      `upgrade.resolve: "from" needs a position, a whole number ≥ 1 (got ${JSON.stringify(position)})`,
    );
  }
  throw new UpgradeKitError(
    ErrorCodes.BAD_INPUT,
    `upgrade.resolve: decision must be "applied" or "retry", or { kind: "applied" | "retry" | "restart" | "from" } (got ${JSON.stringify(input)})`,
  );
}

/** How a decision reads in a log line or an audit row: "applied", "from 5". */
export function decisionLabel(decision: ResolveDecision): string {
  return decision.kind === 'from' ? `from ${decision.position}` : decision.kind;
}

/**
 * What a decision does to a step: its own `resolveProgress` when it keeps progress of its own;
 * otherwise the step is all or nothing — `applied` is done, `retry` and `restart` run it from the
 * start — and a position means nothing, so `from` is refused.
 */
export function resolution(
  step: PlannedStep,
  progress: string | undefined,
  decision: ResolveDecision,
): ProgressResolution {
  if (step.definition.resolveProgress) return step.definition.resolveProgress(progress, decision);
  if (decision.kind === 'from') {
    throw new UpgradeKitError(
      ErrorCodes.BAD_INPUT,
      `upgrade.resolve: step "${step.id}" (version ${step.key.taskVersion}) does not keep a position to continue from; resolve it as applied, retry or restart`,
      { context: { step: step.id, version: step.key.taskVersion } },
    );
  }
  if (decision.kind === 'applied') {
    return { progress: undefined, done: true, message: 'recorded as done: it will not run again' };
  }
  return {
    progress: undefined,
    done: false,
    message: 'pending: the next run runs it from the start',
  };
}
