import type { Declared, DeclaredIn } from './declared.js';
import { parseTaskProperties } from './properties.js';
import { taskSchema } from './schema.js';

// The fields the seed's `sql.{uid}.*` and `tool.{uid}.*` entries may set; any other is refused.
const SQL_FIELDS = new Set([
  'id',
  'description',
  'file',
  'stage',
  'datasource',
  'compatible_version',
  'sites',
  'exclude_sites',
  'timeout',
  'idempotent',
  'check',
]);
const TOOL_FIELDS = new Set([
  'id',
  'description',
  'package',
  'stage',
  'compatible_version',
  'sites',
  'exclude_sites',
  'timeout',
  'idempotent',
]);

/** The seed's .properties tasks, mapped onto the same task model and checked with the same schema. */
export function fromProperties(text: string, at: DeclaredIn): Declared[] {
  const { file, version, base, problems } = at;
  const parsed = parseTaskProperties(text, file);
  problems.push(...parsed.problems);
  const out: Declared[] = [];
  for (const group of parsed.tasks) {
    const allowed = group.type === 'sql' ? SQL_FIELDS : TOOL_FIELDS;
    const get = (field: string) => group.fields.get(field)?.value;
    for (const [field, { line }] of group.fields) {
      if (!allowed.has(field)) {
        problems.push({
          file,
          line,
          field: `${group.type}.${group.uid}.${field}`,
          message: `unknown field; use ${[...allowed].join(', ')}`,
        });
      }
    }
    const list = (v: string | undefined) =>
      v
        ?.split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    const input: Record<string, unknown> = {
      id: get('id') ?? group.uid,
      kind: group.type,
      stage: get('stage'),
      ...(get('description') ? { description: get('description') } : {}),
      ...(group.type === 'sql' ? { file: get('file') } : { package: get('package') }),
      ...(get('datasource') ? { datasource: get('datasource') } : {}),
      ...(get('compatible_version') ? { compatibleFrom: get('compatible_version') } : {}),
      ...(get('sites') || get('exclude_sites')
        ? {
            sites: {
              ...(get('sites') ? { include: list(get('sites')) } : {}),
              ...(get('exclude_sites') ? { exclude: list(get('exclude_sites')) } : {}),
            },
          }
        : {}),
      ...(get('timeout')
        ? { timeout: /^\d+$/.test(get('timeout') ?? '') ? Number(get('timeout')) : get('timeout') }
        : {}),
      // Only `true` and `false`: `TRUE`, `yes` or `maybe` are refused by the schema, not read as false.
      ...(get('idempotent')
        ? {
            idempotent:
              get('idempotent') === 'true' ? true : get('idempotent') === 'false' ? false : get('idempotent'),
          }
        : {}),
      ...(get('check') ? { check: get('check') } : {}),
    };
    const result = taskSchema.safeParse(input);
    if (!result.success) {
      for (const issue of result.error.issues) {
        const field = String(issue.path[0] ?? '');
        const propertyField =
          field === 'compatibleFrom'
            ? 'compatible_version'
            : field === 'sites' && issue.path[1] === 'exclude'
              ? 'exclude_sites'
              : field;
        const line = group.fields.get(propertyField)?.line ?? group.line;
        const missing = input[field] === undefined;
        problems.push({
          file,
          line,
          field: `${group.type}.${group.uid}.${propertyField}`,
          message: missing
            ? `missing: add ${group.type}.${group.uid}.${propertyField}`
            : `${issue.message} (got ${JSON.stringify(input[field])})`,
        });
      }
      continue;
    }
    const lineOf = (field: string) => group.fields.get(field)?.line ?? group.line;
    out.push({
      input: result.data,
      version,
      base,
      source: { file, line: group.line },
      type: group.type,
      uid: group.uid,
      lineOf,
    });
  }
  return out;
}
