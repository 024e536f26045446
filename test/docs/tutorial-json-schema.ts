// A small JSON Schema (2020-12) validator for the keywords @upgradekit/core's generated schemas use,
// so tests can check a YAML file against the schema its `# yaml-language-server: $schema=…` line
// names, as an editor would, without adding a validator to the dependencies. A keyword it does not
// know makes it throw: a schema that grows a new keyword fails the test instead of passing unchecked.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';

type Schema = Record<string, unknown>;

const ANNOTATIONS = new Set(['$schema', '$id', 'title', 'description', 'default', 'examples']);
const KNOWN = new Set([
  ...ANNOTATIONS,
  'type',
  'properties',
  'required',
  'additionalProperties',
  'propertyNames',
  'pattern',
  'enum',
  'anyOf',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'items',
  'minLength',
  'maxLength',
  'minItems',
]);

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

/** Every problem of `value` against `schema`, as `path: reason`; empty when it is valid. */
export function validate(schema: Schema, value: unknown, path = '$'): string[] {
  const unknown = Object.keys(schema).filter((k) => !KNOWN.has(k));
  if (unknown.length > 0) throw new Error(`${path}: the test validator does not know ${unknown.join(', ')}`);
  const problems: string[] = [];
  const t = typeOf(value);
  if (schema.type !== undefined) {
    const types = ([] as string[]).concat(schema.type as string | string[]);
    if (!types.some((x) => x === t || (x === 'number' && t === 'integer')))
      return [`${path}: expected ${types.join('|')}, got ${t}`];
  }
  if (schema.enum && !(schema.enum as unknown[]).some((e) => e === value))
    problems.push(`${path}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  if (schema.anyOf) {
    const branches = (schema.anyOf as Schema[]).map((s) => validate(s, value, path));
    if (branches.every((b) => b.length > 0))
      problems.push(`${path}: matches no anyOf branch (${branches.flat()[0]})`);
  }
  if (typeof value === 'string') {
    if (schema.pattern && !new RegExp(schema.pattern as string, 'u').test(value))
      problems.push(`${path}: ${JSON.stringify(value)} does not match ${schema.pattern}`);
    if (schema.minLength !== undefined && [...value].length < (schema.minLength as number))
      problems.push(`${path}: shorter than ${schema.minLength}`);
    if (schema.maxLength !== undefined && [...value].length > (schema.maxLength as number))
      problems.push(`${path}: longer than ${schema.maxLength}`);
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < (schema.minimum as number))
      problems.push(`${path}: < ${schema.minimum}`);
    if (schema.maximum !== undefined && value > (schema.maximum as number))
      problems.push(`${path}: > ${schema.maximum}`);
    if (schema.exclusiveMinimum !== undefined && value <= (schema.exclusiveMinimum as number))
      problems.push(`${path}: ≤ ${schema.exclusiveMinimum}`);
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < (schema.minItems as number))
      problems.push(`${path}: fewer than ${schema.minItems} items`);
    if (schema.items)
      for (const [i, v] of value.entries())
        problems.push(...validate(schema.items as Schema, v, `${path}[${i}]`));
  }
  if (t === 'object') {
    const object = value as Record<string, unknown>;
    const properties = (schema.properties ?? {}) as Record<string, Schema>;
    for (const key of (schema.required ?? []) as string[])
      if (!(key in object)) problems.push(`${path}: ${key} is required`);
    for (const [key, v] of Object.entries(object)) {
      if (schema.propertyNames)
        problems.push(...validate(schema.propertyNames as Schema, key, `${path}.${key} (name)`));
      if (key in properties) problems.push(...validate(properties[key] as Schema, v, `${path}.${key}`));
      else if (schema.additionalProperties === false) problems.push(`${path}: ${key} is not allowed`);
      else if (typeof schema.additionalProperties === 'object')
        problems.push(...validate(schema.additionalProperties as Schema, v, `${path}.${key}`));
    }
  }
  return problems;
}

/** The schema path a YAML file names on its `# yaml-language-server: $schema=…` line, if any. */
export function schemaOf(yamlFile: string): string | undefined {
  return /^# yaml-language-server: \$schema=(\S+)\s*$/m.exec(readFileSync(yamlFile, 'utf8'))?.[1];
}

/**
 * Checks a YAML file as an editor would: the schema it names, resolved from the file's directory,
 * exists and has the expected `$id`, and the file's content validates against it.
 */
export function checkAgainstItsSchema(
  yamlFile: string,
  expectedId: string,
): { schemaFile: string; problems: string[] } {
  const named = schemaOf(yamlFile);
  if (named === undefined) return { schemaFile: '', problems: [`${yamlFile} names no schema`] };
  const schemaFile = resolve(dirname(yamlFile), named);
  let schema: Schema;
  try {
    schema = JSON.parse(readFileSync(schemaFile, 'utf8')) as Schema;
  } catch (error) {
    return {
      schemaFile,
      problems: [`${named} does not resolve from ${dirname(yamlFile)}: ${String(error)}`],
    };
  }
  if (schema.$id !== expectedId)
    return { schemaFile, problems: [`${schemaFile}: $id is ${String(schema.$id)}`] };
  return { schemaFile, problems: validate(schema, parse(readFileSync(yamlFile, 'utf8'))) };
}
