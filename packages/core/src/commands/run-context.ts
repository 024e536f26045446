// What `run`'s results are told besides the outcome: the input, the release and plan, the site.
import type { Plan } from '../plan/index.js';
import type { Release } from '../release/index.js';
import type { CommandInput } from './input.js';

export type RunInput = Extract<CommandInput, { command: 'run' }>;

export interface RunContext {
  readonly input: RunInput;
  readonly release: Release;
  readonly plan: Plan;
  readonly site: string;
  /** Whether the site configuration has a `backup:` section: a failed run offers its rollback. */
  readonly hasBackup: boolean;
  /** Whether a step's id is in more than one version of the upgrade (a printed resolve names the version). */
  readonly repeats: (step: { readonly id: string; readonly version: string }) => boolean;
  /** How the surface says "confirm": `--yes` or `yes: true`. */
  readonly yes: string;
  /** Where this site's state is (`describeStateLocation`): said on every run. */
  readonly state?: string;
}
