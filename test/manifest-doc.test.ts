// docs/manifest.md is generated from the shipped JSON Schemas (npm run schemas). The schemas are
// checked against the zod schemas in packages/core/test/release/load.test.ts; this checks the page
// against the schemas, so a field added to the validator cannot be missing from the reference.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  fieldRows,
  type JsonSchema,
  MANIFEST_DOC,
  readShippedSchemas,
  renderManifestDoc,
} from '../scripts/generate-manifest-doc.js';

const schemas = readShippedSchemas();

/** Every property path of a schema, found independently of the generator's walk. */
function paths(schema: JsonSchema, prefix: string, out: string[]): string[] {
  for (const [name, child] of Object.entries(schema.properties ?? {})) {
    const path = prefix ? `${prefix}.${name}` : name;
    out.push(path);
    paths(child, path, out);
    if (child.items) paths(child.items, `${path}[]`, out);
    // A map of plain values (estimates: target → duration) is one row; a map of objects lists its fields.
    if (typeof child.additionalProperties === 'object' && child.additionalProperties.properties) {
      const key = `${path}.<${child.propertyNames?.title ?? 'key'}>`;
      out.push(key);
      paths(child.additionalProperties, key, out);
    }
  }
  return out;
}

describe('docs/manifest.md', () => {
  it('is up to date with packages/core/schema (run `npm run schemas` after changing the schema)', () => {
    expect(readFileSync(MANIFEST_DOC, 'utf8')).toBe(renderManifestDoc(schemas));
  });

  it('has a row for every field of upgradekit.yaml and tasks.yaml', () => {
    const page = readFileSync(MANIFEST_DOC, 'utf8');
    for (const schema of [schemas.manifest, schemas.tasks]) {
      const all = paths(schema, '', []);
      expect(all.length).toBeGreaterThan(20);
      expect(fieldRows(schema).map((r) => r.path)).toEqual(expect.arrayContaining(all));
      for (const path of all) expect(page).toContain(`| \`${path}\` |`);
    }
  });

  it('states type, required, default and constraints from the schema', () => {
    const rows = new Map(fieldRows(schemas.manifest).map((r) => [r.path, r]));
    expect(rows.get('component')).toMatchObject({ type: 'string', required: true });
    expect(rows.get('datasources')).toMatchObject({ type: 'map of name → object', default: {} });
    expect(rows.get('datasources.<name>.type')).toMatchObject({
      type: '"mysql" \\| "mariadb" \\| "postgres" \\| "sqlite" \\| "clickhouse"',
      required: true,
    });
    const tasks = new Map(fieldRows(schemas.tasks).map((r) => [r.path, r]));
    expect(tasks.get('tasks[].timeout')).toMatchObject({ type: '*duration*', required: false });
    expect(tasks.get('tasks[].command')?.constraints).toEqual(['at least 1 item']);
    expect(tasks.get('tasks[].id')?.constraints).toEqual(['matches `^[A-Za-z0-9][A-Za-z0-9_.-]{0,190}$`']);
  });

  it('changes when the schema does, so a stale page is caught', () => {
    const changed: JsonSchema = {
      ...schemas.tasks,
      properties: {
        tasks: {
          ...schemas.tasks.properties?.tasks,
          items: {
            ...schemas.tasks.properties?.tasks?.items,
            properties: {
              ...schemas.tasks.properties?.tasks?.items?.properties,
              owner: { type: 'string', description: 'Who to call at 2 a.m.', default: 'ops' },
            },
          },
        },
      },
    };
    const page = renderManifestDoc({ manifest: schemas.manifest, tasks: changed });
    expect(page).not.toBe(renderManifestDoc(schemas));
    expect(page).toContain('| `tasks[].owner` | string | no | `"ops"` | Who to call at 2 a.m. |');
  });
});
