// Commands printed for the operator to paste: built from argument vectors and quoted by the
// core's `commandLine`, complete with what points them at the same site as the command that
// printed them.
import { commandLine } from '@upgradekit/core';

/** The site configuration and site id the operator gave, by option or environment. */
export function siteArgs(flags: { readonly config?: string; readonly site?: string }): string[] {
  const config = flags.config ?? process.env.UPGRADEKIT_CONFIG;
  const site = flags.site ?? process.env.UPGRADEKIT_SITE;
  return [...(config ? ['--config', config] : []), ...(site ? ['--site', site] : [])];
}

/** `upgradekit …`, safe to paste. */
export function upgradekit(args: readonly string[]): string {
  return commandLine(['upgradekit', ...args]);
}

/** A step a printed `resolve` names: its id, and its host and version when they are needed. */
export interface ResolveTarget {
  readonly id: string;
  readonly host?: string;
  /** Only when the id is in more than one version of the upgrade. */
  readonly version?: string;
}

/**
 * One `upgradekit resolve` per decision, for a step an operator must settle: if it took effect,
 * and if it did not.
 */
export function resolveCommands(
  step: ResolveTarget,
  flags: {
    readonly release: string;
    readonly from: string;
    readonly to: string;
    readonly config?: string;
    readonly site?: string;
  },
): { applied: string; retry: string; restart: string; from: (position: number) => string } {
  const command = (decision: string, ...more: string[]) =>
    upgradekit([
      'resolve',
      step.id,
      decision,
      ...more,
      ...(step.version ? ['--version', step.version] : []),
      ...(step.host ? ['--host', step.host] : []),
      '--release',
      flags.release,
      '--from',
      flags.from,
      '--to',
      flags.to,
      ...siteArgs(flags),
    ]);
  return {
    applied: command('--applied'),
    retry: command('--retry'),
    restart: command('--restart'),
    from: (position) => command('--from-statement', String(position)),
  };
}
