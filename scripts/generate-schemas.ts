// Writes packages/core/schema/*.schema.json from the zod schemas (npm run schemas).
// test/schemas.test.ts fails when the committed files are out of date.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { releaseJsonSchemas } from '../packages/core/src/release/index.js';

const dir = fileURLToPath(new URL('../packages/core/schema/', import.meta.url));
const { manifest, tasks } = releaseJsonSchemas();
writeFileSync(`${dir}upgradekit.schema.json`, `${JSON.stringify(manifest, null, 2)}\n`);
writeFileSync(`${dir}tasks.schema.json`, `${JSON.stringify(tasks, null, 2)}\n`);
process.stdout.write(`wrote ${dir}upgradekit.schema.json and tasks.schema.json\n`);
