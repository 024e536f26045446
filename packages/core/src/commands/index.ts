// The commands every surface runs (plan, assess, run, status, resolve, backup, rollback): one input
// schema, one function that runs a command, and one pure function per command from its outcome to
// its result. The CLI and the Action only map input in and results out.
export { assessResult, failedChecks } from './assess.js';
export { backupResult, rollbackListResult, rollbackRunResult, rollbackStatusResult } from './backup.js';
export { type CommandIO, runCommand } from './execute.js';
export {
  COMMAND_NAMES,
  type CommandInput,
  type CommandName,
  parseCommandInput,
  type RawCommandInput,
  ROLLBACK_ACTIONS,
  type RollbackAction,
  type Surface,
  spellField,
} from './input.js';
export { type ResolveChoice, type ResolveTarget, resolveCommand, rollbackCommand, siteArgs } from './next.js';
export { type BackupWhere, describeTask, planDocument, planLines, planResult } from './plan.js';
export {
  type Annotation,
  type CommandResult,
  commandResult,
  type ExitClass,
  errorResult,
  exitClassOf,
  type NextCommand,
  pasteable,
  toJson,
} from './result.js';
export { confirmationNeeded, type RunContext, runResult } from './run.js';
export { noStatusResult, resolveResult, statusLines, statusResult } from './status.js';
