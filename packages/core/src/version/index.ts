export { compareVersions, parseVersion, satisfies, sortVersions } from './api.js';
export { defaultVersionScheme } from './default-scheme.js';
export type { Version, VersionScheme } from './types.js';
