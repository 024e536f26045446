export { releaseJsonSchemas } from './json-schema.js';
export { loadRelease } from './load.js';
export {
  MAX_DURATION_MS,
  manifestSchema,
  qualityCheckSchema,
  siteIdSchema,
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
