// The commands every surface runs (plan, assess, run, status, resolve, backup, rollback): one input
// schema, one function that runs a command, and one pure function per command from its outcome to
// its result. The CLI and the Action only map input in and results out.

export { type CommandIO, runCommand } from './execute.js';
export {
  type CommandInput,
  type CommandName,
  parseCommandInput,
  type RawCommandInput,
  type RollbackAction,
  type Surface,
} from './input.js';
export type { ResolveChoice, ResolveTarget } from './next.js';
export type { BackupWhere } from './plan.js';
export {
  type Annotation,
  type CommandResult,
  type ExitClass,
  errorResult,
  type NextCommand,
} from './result.js';
export type { RunContext } from './run.js';
