// Writes packages/core/schema/*.schema.json from the zod schemas, then docs/manifest.md from them
// (npm run schemas). packages/core/test/release/load.test.ts fails when the committed schemas are
// out of date, test/manifest-doc.test.ts when the page is.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { releaseJsonSchemas } from '../packages/core/src/release/index.js';
import { writeManifestDoc } from './generate-manifest-doc.js';

const dir = fileURLToPath(new URL('../packages/core/schema/', import.meta.url));
const { manifest, tasks } = releaseJsonSchemas();
writeFileSync(`${dir}upgradekit.schema.json`, `${JSON.stringify(manifest, null, 2)}\n`);
writeFileSync(`${dir}tasks.schema.json`, `${JSON.stringify(tasks, null, 2)}\n`);
process.stdout.write(`wrote ${dir}upgradekit.schema.json and tasks.schema.json\n`);
process.stdout.write(`wrote ${writeManifestDoc()}\n`);
