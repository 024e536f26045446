export { MARKER_TABLE } from './marker.js';
export { addPlanSteps } from './plan-steps.js';
export { commandStep, type ToolContext, type ToolFunction, toolStep } from './run-program.js';
export { type TaskRunOptions, taskStep } from './run-task.js';
export {
  type ClickHouseLike,
  type Connection,
  dialectOf,
  isKnex,
  openSession,
  poolQuery,
  poolRows,
  type TaskSession,
} from './session.js';
export {
  applyPlaceholders,
  classifyStatement,
  commitsImplicitly,
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
export { type SqlMode, sqlMode } from './transaction-mode.js';
