import { z } from 'zod';
import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import { STAGES } from '../model/index.js';
import { validateOptions } from '../options/index.js';
import type { PluginContext, PluginDatasource } from './types.js';

// Matched against the last word of a field name: `password`, `dbPassword`, `clientSecret`,
// `authToken`, `privateKey`, `apiKey`, TLS `key`. Errs on the side of removing too much.
const SECRET_FIELD =
  /(^|[a-z_-])(pass(word|wd)?|secret|token|credentials?|passphrase)$|(private|api|access|secret)[_-]?key$|^key$/i;

const contextSchema = z.object({
  component: z.string().optional(),
  from: z.string().min(1, 'must be a non-empty version'),
  to: z.string().min(1, 'must be a non-empty version'),
  stage: z.enum(STAGES).optional(),
  runId: z.string().optional(),
  site: z.object({
    id: z.string().min(1, 'must be a non-empty string'),
    name: z.string().optional(),
    env: z.record(z.string(), z.string()).optional(),
  }),
  datasources: z
    .record(z.string(), z.looseObject({ type: z.string().min(1, 'must name the datasource type') }))
    .default({}),
  hosts: z
    .array(
      z.object({
        name: z.string().min(1, 'must be a non-empty string'),
        address: z.string().optional(),
        roles: z.array(z.string()).optional(),
      }),
    )
    .default([]),
  config: z.record(z.string(), z.unknown()).optional(),
});

export type PluginContextInput = z.input<typeof contextSchema>;

export interface CreatePluginContextOptions {
  /**
   * Which datasources' passwords, tokens and keys the plugin may see: `true` for all, or a list
   * of datasource names. Default: none — secrets reach a plugin only when someone decided so.
   */
  readonly secrets?: boolean | readonly string[];
}

/**
 * Builds the JSON context plugin calls receive, from the upgrade's own settings. Removes secrets
 * from datasource settings (fields such as `password`, `token`, `privateKey`, and the password in
 * `mysql://user:pw@host` URLs) unless `secrets` says otherwise, and refuses anything that is not
 * plain JSON, naming the field.
 *
 * @example
 * const context = createPluginContext(
 *   { from: '2.16.6', to: '2.16.7', site: { id: 'acme' }, datasources: { main: { type: 'mysql', host: 'db1', password } } },
 *   { secrets: ['main'] },
 * );
 */
export function createPluginContext(
  input: PluginContextInput,
  options: CreatePluginContextOptions = {},
): PluginContext {
  const context = checkPluginContext('createPluginContext', input);
  const allowed = options.secrets ?? false;
  const datasources: Record<string, PluginDatasource> = {};
  for (const [name, settings] of Object.entries(context.datasources)) {
    const keep = allowed === true || (Array.isArray(allowed) && allowed.includes(name));
    datasources[name] = keep ? settings : (stripSecrets(settings) as PluginDatasource);
  }
  return { ...context, datasources };
}

/** Validates a plugin context and returns a plain-JSON copy of it. */
export function checkPluginContext(where: string, input: unknown): PluginContext {
  // Wrapped so that problems are named from the caller's side: `context.site.id`.
  const { context: parsed } = validateOptions(where, z.object({ context: contextSchema }), {
    context: input,
  });
  assertJson(where, parsed, 'context');
  return JSON.parse(JSON.stringify(parsed)) as PluginContext;
}

function stripSecrets(value: unknown): unknown {
  if (typeof value === 'string') return stripUrlPassword(value);
  if (Array.isArray(value)) return value.map(stripSecrets);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (!SECRET_FIELD.test(key)) out[key] = stripSecrets(item);
  }
  return out;
}

function stripUrlPassword(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*):[^@/?#\s]*@/i, '$1@');
}

/**
 * Throws `UPGRADEKIT_BAD_INPUT` naming the first part of `value` that JSON cannot carry as it is:
 * functions, symbols, bigints, class instances (a Date or a Map would arrive as something else),
 * non-finite numbers, cycles.
 */
export function assertJson(where: string, value: unknown, path: string): void {
  const problem = jsonProblem(value, path, new Set());
  if (problem) {
    throw new UpgradeKitError(
      ErrorCodes.BAD_INPUT,
      `${where}: \`${problem.path}\` ${problem.what}; plugin contexts cross a process boundary and must be plain JSON`,
      { context: { where, field: problem.path } },
    );
  }
}

export function jsonProblem(
  value: unknown,
  path: string,
  seen: Set<object>,
): { path: string; what: string } | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
    case 'undefined':
      return undefined;
    case 'number':
      return Number.isFinite(value) ? undefined : { path, what: `is ${value}` };
    case 'function':
      return { path, what: 'is a function' };
    case 'bigint':
      return { path, what: 'is a bigint' };
    case 'symbol':
      return { path, what: 'is a symbol' };
  }
  if (value === null) return undefined;
  const object = value as object;
  if (seen.has(object)) return { path, what: 'refers back to itself' };
  const prototype = Object.getPrototypeOf(object);
  if (!Array.isArray(object) && prototype !== Object.prototype && prototype !== null) {
    return { path, what: `is a ${object.constructor?.name ?? 'class instance'}, not a plain object` };
  }
  seen.add(object);
  const entries = Array.isArray(object)
    ? object.map((item, i) => [`${path}[${i}]`, item] as const)
    : Object.entries(object).map(([key, item]) => [path ? `${path}.${key}` : key, item] as const);
  for (const [itemPath, item] of entries) {
    const problem = jsonProblem(item, itemPath, seen);
    if (problem) return problem;
  }
  seen.delete(object);
  return undefined;
}
