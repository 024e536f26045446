// The Action's inputs, as core's command input: the runner does not enforce `required`, and core's
// one schema checks every rule (the same the CLI's flags meet) and names the inputs as action.yml does.
import { getInput } from '@actions/core';
import type { RawCommandInput } from '@upgradekit/core';

/** action.yml's inputs, by the field of the command input each one fills. */
const INPUTS = {
  command: 'command',
  release: 'release',
  from: 'from',
  to: 'to',
  stage: 'stage',
  site: 'site',
  config: 'config',
  dryRun: 'dry-run',
  killInDoubt: 'kill-in-doubt',
  services: 'services',
  yes: 'yes',
  task: 'task',
  applied: 'applied',
  retry: 'retry',
  restart: 'restart',
  fromStatement: 'from-statement',
  host: 'host',
  version: 'version',
  action: 'rollback',
  component: 'component',
  backup: 'backup',
  step: 'step',
  compatible: 'compatible',
  accept: 'accept',
} as const satisfies Partial<Record<keyof RawCommandInput, string>>;

export function readInputs(): RawCommandInput {
  const raw: Record<string, string> = {};
  for (const [field, name] of Object.entries(INPUTS)) raw[field] = getInput(name);
  // A workflow that names no command gets a plan, as action.yml's default says.
  return { ...raw, command: raw.command || 'plan' };
}
