export { releaseJsonSchemas } from './json-schema.js';
export { loadRelease } from './load.js';
export { manifestSchema } from './schema.js';
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
