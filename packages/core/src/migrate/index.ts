export { commandStep, type ToolContext, type ToolFunction, toolStep } from './run-program.js';
export {
  addPlanSteps,
  type ClickHouseLike,
  type Connection,
  MARKER_TABLE,
  type SqlMode,
  sqlMode,
  type TaskRunOptions,
  taskStep,
} from './run-task.js';
export {
  applyPlaceholders,
  commitsImplicitly,
  type SqlDialect,
  type Statement,
  splitStatements,
} from './split.js';
