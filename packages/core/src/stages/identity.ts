import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import { parseVersion } from '../version/index.js';
import type { PlannedStep } from './normalize.js';

/** What names one step of an upgrade: its id, and its host and version where the id alone does not. */
export interface StepSelector {
  readonly host?: string;
  /** The release that introduced it; needed only when the id is in more than one version. */
  readonly version?: string;
}

/**
 * The one step `id` names among `steps`. Ids are unique per (host, version): an id that more than
 * one version has needs `version`, and the error says which versions there are.
 */
export function findStep(
  steps: readonly PlannedStep[],
  id: string,
  selector: StepSelector,
  caller: string,
): PlannedStep {
  const host = selector.host ?? '';
  const version = selector.version === undefined ? undefined : parseVersion(selector.version).canonical;
  const named = steps.filter((s) => s.id === id && s.host === host);
  const found = version === undefined ? named : named.filter((s) => s.key.taskVersion === version);
  const onHost = host ? ` on host ${host}` : '';
  if (found.length === 1) return found[0]!;
  const versions = named.map((s) => s.key.taskVersion);
  if (found.length === 0) {
    const elsewhere = versions.length > 0 ? ` (it is in version ${versions.join(', ')})` : '';
    throw new UpgradeKitError(
      ErrorCodes.BAD_INPUT,
      `${caller}: no step "${id}"${onHost}${version ? ` in version ${version}` : ''} in this upgrade${elsewhere}`,
      { context: { step: id, ...(version ? { version } : {}), versions } },
    );
  }
  throw new UpgradeKitError(
    ErrorCodes.BAD_INPUT,
    `${caller}: step "${id}"${onHost} is in versions ${versions.join(', ')} of this upgrade; say which one (version, --version)`,
    { context: { step: id, versions } },
  );
}

type Named = { readonly id: string; readonly host?: string | undefined };

/**
 * Which steps of a list share their id (on their host) with another — in another version — so a
 * listing shows their version and a printed command names it (`--version`).
 *
 * @example
 * const repeats = idRepeats(report.steps);
 * report.steps.map((s) => (repeats(s) ? `${s.id} (${s.version})` : s.id));
 */
export function idRepeats(steps: readonly Named[]): (step: Named) => boolean {
  const count = new Map<string, number>();
  for (const step of steps) count.set(nameOf(step), (count.get(nameOf(step)) ?? 0) + 1);
  return (step) => (count.get(nameOf(step)) ?? 0) > 1;
}

function nameOf(step: Named): string {
  return `${step.host ?? ''}\u0000${step.id}`;
}
