export {
  addPlanSteps,
  type ClickHouseLike,
  type Connection,
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
