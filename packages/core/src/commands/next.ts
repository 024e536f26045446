// Commands printed for the operator to run next: argument vectors, complete with what points them
// at the same site configuration and site as the command that printed them.
import type { NextCommand } from './result.js';

/** The site configuration and site id the operator gave. */
export function siteArgs(input: { readonly config?: string; readonly site?: string }): string[] {
  return [...(input.config ? ['--config', input.config] : []), ...(input.site ? ['--site', input.site] : [])];
}

/** The upgrade a command is about: its release and versions. */
export interface UpgradeArgs {
  readonly release: string;
  readonly from: string;
  readonly to: string;
  readonly config?: string;
  readonly site?: string;
}

/** `--release … --from … --to …`: the same upgrade as the command that printed it. */
function upgradeArgs(input: UpgradeArgs): string[] {
  return ['--release', input.release, '--from', input.from, '--to', input.to];
}

/** A step a printed `resolve` names: its id, and its host and version when they are needed. */
export interface ResolveTarget {
  readonly id: string;
  readonly host?: string;
  /** Only when the id is in more than one version of the upgrade. */
  readonly version?: string;
}

export type ResolveChoice = 'applied' | 'retry' | 'restart' | { readonly from: number };

/** `upgradekit resolve …` for one decision about a step of the upgrade `input` names. */
export function resolveCommand(
  step: ResolveTarget,
  choice: ResolveChoice,
  input: UpgradeArgs,
  why: string,
): NextCommand {
  const decision = typeof choice === 'string' ? [`--${choice}`] : ['--from-statement', String(choice.from)];
  return {
    why,
    argv: [
      'resolve',
      step.id,
      ...decision,
      ...(step.version ? ['--version', step.version] : []),
      ...(step.host ? ['--host', step.host] : []),
      ...upgradeArgs(input),
      ...siteArgs(input),
    ],
  };
}

/** `upgradekit rollback …` for the same release (or component) and site. */
export function rollbackCommand(
  args: readonly string[],
  input: {
    readonly release?: string;
    readonly component?: string;
    readonly config?: string;
    readonly site?: string;
  },
  why: string,
): NextCommand {
  return {
    why,
    argv: [
      'rollback',
      ...args,
      ...(input.release ? ['--release', input.release] : []),
      ...(input.component ? ['--component', input.component] : []),
      ...siteArgs(input),
    ],
  };
}

/** `upgradekit run` for the same upgrade and site, with `extra` instead of how that one was run. */
export function runCommandLine(
  input: UpgradeArgs & { readonly yes?: boolean },
  extra: readonly string[],
  why: string,
): NextCommand {
  return {
    why,
    argv: ['run', ...upgradeArgs(input), ...extra, ...(input.yes ? ['--yes'] : []), ...siteArgs(input)],
  };
}
