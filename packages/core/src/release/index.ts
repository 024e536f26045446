export { releaseJsonSchemas } from './json-schema.js';
export { loadRelease } from './load.js';
export {
  manifestSchema,
  qualityCheckSchema,
  TASK_KINDS,
  TASK_STAGE_NAMES,
  taskSchema,
  tasksFileSchema,
} from './schema.js';
export { toBytes } from './size.js';
export type {
  Datasource,
  QualityCheck,
  Release,
  ReleaseProblem,
  SourceLocation,
  Task,
  TaskKind,
  TaskStage,
} from './types.js';
