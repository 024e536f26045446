export { compareVersions, parseVersion, satisfies, sortVersions } from './api.js';
export { defaultVersionScheme } from './default-scheme.js';
export {
  type CompatibilityMatrix,
  type HopMode,
  type MatrixEntry,
  type MatrixProblem,
  type PathHop,
  type PlanPathOptions,
  planPath,
  type UpgradePath,
} from './path.js';
export type { Version, VersionScheme } from './types.js';
