// What other folders of core use from release/ and a user never needs. Not a package export:
// `index.ts` is the public face, this file the one core's own folders share.
export { siteIdSchema } from './schema.js';
export { parseYaml, schemaProblems } from './yaml-source.js';
