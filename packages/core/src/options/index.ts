import { z } from 'zod';
import { ErrorCodes, UpgradeKitError } from '../errors/index.js';

/**
 * Validates options once, at the edge of a public function, and turns schema issues into one
 * precise `UPGRADEKIT_BAD_INPUT` error: "withTimeout: `ms` must be a positive number (got -1)".
 */
export function validateOptions<S extends z.ZodType>(where: string, schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const field = issue.path.length > 0 ? `\`${issue.path.join('.')}\`` : 'options';
    const got = issue.path.reduce<unknown>(
      (current, key) => (current && typeof current === 'object' ? (current as never)[key] : undefined),
      value,
    );
    return `${field}: ${issue.message}${issue.path.length > 0 ? ` (got ${render(got)})` : ''}`;
  });
  throw new UpgradeKitError(ErrorCodes.BAD_INPUT, `${where}: invalid options — ${problems.join('; ')}`, {
    context: { where, problems },
  });
}

/**
 * A public function's arguments, checked for their shape before any is read: a call without its
 * options says which one it needs, instead of "Cannot read properties of undefined". `shape` names
 * each argument; objects are checked loosely (their own functions validate their fields).
 *
 * @example
 * checkArguments('plan', { input: z.object({ release: z.object({}).loose() }).loose() }, { input });
 */
export function checkArguments(where: string, shape: z.ZodRawShape, args: Record<string, unknown>): void {
  validateOptions(where, z.object(shape), args);
}

/** An object argument of any shape (its fields are validated where they are used). */
export const anObject = (what: string) =>
  z.custom<object>((v) => v !== null && typeof v === 'object', `must be ${what}`);

function render(value: unknown): string {
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'string') return JSON.stringify(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Optional fields of `T`, each of which may be given as `undefined` (left out). */
export type Partly<T> = { readonly [K in keyof T]?: T[K] | undefined };

/**
 * A table of defaults with what the caller set in their place: every key of `defaults`, the
 * given value where there is one (`undefined` means "not given", as a left-out YAML field).
 *
 * @example
 * withDefaults({ host: '127.0.0.1', port: 3306 }, { port: 3307 }); // { host: '127.0.0.1', port: 3307 }
 */
export function withDefaults<T extends object>(defaults: T, given: Partly<T> = {}): T {
  const out = { ...defaults };
  for (const key of Object.keys(defaults) as (keyof T)[]) {
    const value = given[key];
    if (value !== undefined) out[key] = value as T[keyof T];
  }
  return out;
}
