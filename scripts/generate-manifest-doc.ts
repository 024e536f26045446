// Writes docs/manifest.md — every field of upgradekit.yaml and tasks.yaml with its type, whether it
// is required, its default and its description — from the shipped JSON Schemas in
// packages/core/schema/ (npm run schemas runs it after writing them; test/manifest-doc.test.ts
// fails when the committed page is stale).
//
// A small generator rather than a library: @adobe/jsonschema2md, the maintained one, targets
// draft 2019-09 and writes a page per schema and sub-schema with a large remark toolchain; what
// this page needs is one table per file with dotted paths, which is a short walk over the schema.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The part of JSON Schema (2020-12) that z.toJSONSchema emits for our schemas. */
export interface JsonSchema {
  readonly type?: string | readonly string[];
  readonly title?: string;
  readonly description?: string;
  readonly default?: unknown;
  readonly enum?: readonly unknown[];
  readonly const?: unknown;
  readonly anyOf?: readonly JsonSchema[];
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly required?: readonly string[];
  readonly additionalProperties?: boolean | JsonSchema;
  readonly propertyNames?: JsonSchema;
  readonly items?: JsonSchema;
  readonly pattern?: string;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly exclusiveMinimum?: number;
  readonly minItems?: number;
}

/** One documented field: `tasks[].retry.attempts`, `datasources.<name>.type`, … */
export interface FieldRow {
  readonly path: string;
  readonly type: string;
  readonly required: boolean;
  readonly default?: unknown;
  readonly description: string;
  /** What a value must look like: `matches …`, `not empty`, `≥ 1`. */
  readonly constraints: readonly string[];
}

const isObject = (s: JsonSchema | boolean | undefined): s is JsonSchema => typeof s === 'object';

function typeOf(s: JsonSchema): string {
  // Named value types (duration, size) are explained once, above the tables.
  if (s.title && s.type !== 'object') return `*${s.title}*`;
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' \\| ');
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.anyOf) return [...new Set(s.anyOf.map(typeOf))].join(' \\| ');
  const type = typeof s.type === 'string' ? s.type : s.type?.join(' \\| ');
  if (type === 'array') return s.items ? `${typeOf(s.items)}[]` : 'array';
  if (type === 'object' && isObject(s.additionalProperties)) {
    return `map of ${s.propertyNames?.title ?? 'key'} → ${typeOf(s.additionalProperties)}`;
  }
  return type ?? 'any';
}

/** Limits worth telling the person typing: what a value must look like. */
function constraints(s: JsonSchema): string[] {
  if (s.title && s.type !== 'object') return [];
  if (s.anyOf) return s.anyOf.flatMap(constraints);
  const out: string[] = [];
  if (s.pattern) out.push(`matches \`${s.pattern}\``);
  if (s.minLength === 1 && s.maxLength === undefined) out.push('not empty');
  else if (s.minLength !== undefined || s.maxLength !== undefined)
    out.push(`${s.minLength ?? 0}–${s.maxLength ?? '∞'} characters`);
  if (s.exclusiveMinimum !== undefined) out.push(`> ${s.exclusiveMinimum}`);
  if (s.minimum !== undefined) out.push(`≥ ${s.minimum}`);
  // z.number().int() says "at most MAX_SAFE_INTEGER", which tells nobody anything.
  if (s.maximum !== undefined && s.maximum !== Number.MAX_SAFE_INTEGER) out.push(`≤ ${s.maximum}`);
  if (s.minItems !== undefined) out.push(`at least ${s.minItems} item${s.minItems === 1 ? '' : 's'}`);
  if (s.type === 'array' && s.items) out.push(...constraints(s.items).map((c) => `each ${c}`));
  return out;
}

/**
 * Every field of a schema, depth first in declaration order: object properties by name, array
 * items as `[]`, map values as `<key title>`.
 *
 * @example
 * fieldRows({ type: 'object', properties: { id: { type: 'string' } }, required: ['id'] })
 * // [{ path: 'id', type: 'string', required: true, description: '', constraints: [] }]
 */
export function fieldRows(schema: JsonSchema, prefix = ''): FieldRow[] {
  const rows: FieldRow[] = [];
  const visit = (s: JsonSchema, path: string, required: boolean) => {
    rows.push({
      path,
      type: typeOf(s),
      required,
      ...(s.default !== undefined ? { default: s.default } : {}),
      description: s.description ?? s.items?.description ?? '',
      constraints: constraints(s),
    });
    walk(s, path);
  };
  const walk = (s: JsonSchema, path: string) => {
    const at = (name: string) => (path ? `${path}.${name}` : name);
    for (const [name, child] of Object.entries(s.properties ?? {})) {
      visit(child, at(name), s.required?.includes(name) ?? false);
    }
    if (isObject(s.additionalProperties) && hasFields(s.additionalProperties)) {
      visit(s.additionalProperties, at(`<${s.propertyNames?.title ?? 'key'}>`), false);
    }
    if (s.items && hasFields(s.items)) walk(s.items, `${path}[]`);
  };
  walk(schema, prefix);
  return rows;
}

/** Whether a schema has fields of its own to list below its row. */
function hasFields(s: JsonSchema): boolean {
  return Boolean(s.properties) || isObject(s.additionalProperties) || Boolean(s.items && hasFields(s.items));
}

/** A table cell: pipes escaped, one line, and `<word>` outside code spans kept from reading as HTML. */
const cell = (text: string) =>
  text
    .replace(/\|/g, '\\|')
    .replace(/\s*\n\s*/g, ' ')
    .split('`')
    .map((part, i) => (i % 2 === 0 ? part.replace(/</g, '&lt;') : part))
    .join('`');

function table(schema: JsonSchema): string {
  const lines = ['| field | type | required | default | description |', '| --- | --- | --- | --- | --- |'];
  for (const row of fieldRows(schema)) {
    const limits = row.constraints.join('; ');
    const description = [row.description, limits && `${limits.charAt(0).toUpperCase()}${limits.slice(1)}.`]
      .filter(Boolean)
      .join(' ');
    lines.push(
      `| \`${row.path}\` | ${row.type} | ${row.required ? 'yes' : 'no'} | ${
        row.default === undefined ? '' : `\`${cell(JSON.stringify(row.default))}\``
      } | ${cell(description)} |`,
    );
  }
  return lines.join('\n');
}

/**
 * The Markdown of docs/manifest.md for the two shipped schemas. Pure: the same schemas always give
 * the same page, so a test can compare it with the committed file.
 *
 * @example
 * const page = renderManifestDoc({ manifest, tasks });
 */
export function renderManifestDoc(schemas: { manifest: JsonSchema; tasks: JsonSchema }): string {
  return `# Manifest reference

<!-- Generated from packages/core/schema/*.schema.json by \`npm run schemas\` (scripts/generate-manifest-doc.ts).
     Do not edit by hand: change the zod schema in packages/core/src/release/schema.ts and regenerate. -->

Every field of a release's two kinds of file, from the JSON Schemas that validate them and that
editors use to complete them (\`$schema: …/@upgradekit/core/schema/upgradekit.schema.json\`). How
the files fit together, the \`.properties\` format teams already use and the errors are in [release.md](release.md).

Paths: \`a.b\` is field \`b\` inside \`a\`; \`a[]\` is each item of the list \`a\`; \`<name>\` is a key you
choose. A *duration* is milliseconds as a number or a string such as \`500ms\`, \`30s\`, \`10m\`, \`2h\`;
a *size* is bytes as a number or a string such as \`512MB\`, \`2GB\`, \`1.5GiB\` (KB = 1000, KiB = 1024).
Unknown fields are refused, with the file, line and field.

## \`${schemas.manifest.title ?? 'upgradekit.yaml'}\`

${table(schemas.manifest)}

## \`${schemas.tasks.title ?? 'tasks.yaml'}\`

${table(schemas.tasks)}
`;
}

const root = fileURLToPath(new URL('..', import.meta.url));

/** Reads the shipped schemas from packages/core/schema/. */
export function readShippedSchemas(): { manifest: JsonSchema; tasks: JsonSchema } {
  const read = (name: string) =>
    JSON.parse(readFileSync(`${root}packages/core/schema/${name}`, 'utf8')) as JsonSchema;
  return { manifest: read('upgradekit.schema.json'), tasks: read('tasks.schema.json') };
}

export const MANIFEST_DOC = `${root}docs/manifest.md`;

/** Writes docs/manifest.md from the shipped schemas. */
export function writeManifestDoc(): string {
  writeFileSync(MANIFEST_DOC, renderManifestDoc(readShippedSchemas()));
  return MANIFEST_DOC;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stdout.write(`wrote ${writeManifestDoc()}\n`);
}
