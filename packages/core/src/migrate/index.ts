export { addPlanSteps } from './plan-steps.js';
export type { ToolContext, ToolFunction } from './run-program.js';
export type { TaskRunOptions } from './run-task.js';
export type { ClickHouseLike, Connection, TaskSession } from './session.js';
export {
  classifyStatement,
  type SqlDialect,
  type Statement,
  type StatementClass,
  splitStatements,
} from './split.js';
export { type ServerError, SqlStatementError, type StatementFailure } from './sql-error.js';
export {
  DurationTracker,
  type DurationTrackerOptions,
  type EstimateCorrection,
  type TrackedTask,
} from './tracker.js';
export type { SqlMode } from './transaction-mode.js';
