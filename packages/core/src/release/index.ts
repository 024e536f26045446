export { releaseJsonSchemas } from './json-schema.js';
export { loadRelease } from './load.js';
export { manifestSchema, TASK_KINDS, TASK_STAGE_NAMES, taskSchema, tasksFileSchema } from './schema.js';
export type {
  Datasource,
  Release,
  ReleaseProblem,
  SourceLocation,
  Task,
  TaskKind,
  TaskStage,
} from './types.js';
