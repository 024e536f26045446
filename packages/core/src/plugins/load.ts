import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import { describeError } from '../errors/internal.js';
import { nearest } from '../model/index.js';
import { stageLabel, toStage, unknownStageMessage } from '../model/internal.js';
import type { UpgradePlugin } from './types.js';

/** Where a plugin specifier points. */
export interface ResolvedPlugin {
  /** As given: `@acme/upgrade-orders`, `./plugins/orders.mjs`. */
  readonly specifier: string;
  readonly path: string;
  readonly url: string;
}

export interface LoadedPlugin extends ResolvedPlugin {
  readonly plugin: UpgradePlugin;
}

export interface LoadPluginOptions {
  /** Paths are relative to it and packages are looked up from it. Default: `process.cwd()`. */
  readonly cwd?: string;
}

const METHODS = ['resources', 'dataQuality', 'compatibility', 'estimate', 'backup', 'cleanup'] as const;
const FIELDS = ['name', 'version', 'description', 'criticality', 'hooks', 'tasks', ...METHODS];
const CRITICALITIES = ['core', 'business', 'optional'];
// Only the root and plain subpaths of `exports`; patterns are rare in plugin packages.
const CONDITIONS = ['node', 'import', 'default'];

/** A path (`./x.mjs`, `../x`, `/abs/x`, `file:///x`) rather than a package name. */
export function isPathSpecifier(specifier: string): boolean {
  return (
    specifier === '.' ||
    specifier === '..' ||
    /^\.{1,2}[\\/]/.test(specifier) ||
    isAbsolute(specifier) ||
    specifier.startsWith('file:')
  );
}

/**
 * Finds the file a plugin specifier names, without running any of the plugin's code: a path is
 * taken relative to `cwd`; a package name is looked up in `node_modules` from `cwd` upwards, the
 * way `import` would (`exports` with the `import` condition, else `main`).
 *
 * @example
 * resolvePlugin('@acme/upgrade-orders', { cwd: releaseDir }).path
 */
export function resolvePlugin(
  specifier: string,
  options: LoadPluginOptions = {},
  where = 'resolvePlugin',
): ResolvedPlugin {
  if (typeof specifier !== 'string' || specifier.trim() === '') {
    throw new UpgradeKitError(
      ErrorCodes.BAD_INPUT,
      `${where}: expected a plugin package name or path, got ${JSON.stringify(specifier) ?? String(specifier)}`,
      { context: { specifier: String(specifier), fault: 'bad-plugin' } },
    );
  }
  const cwd = resolve(options.cwd ?? process.cwd());
  const path = isPathSpecifier(specifier)
    ? resolvePath(specifier, cwd, where)
    : resolvePackage(specifier, cwd, where);
  return { specifier, path, url: pathToFileURL(path).href };
}

function resolvePath(specifier: string, cwd: string, where: string): string {
  const path = specifier.startsWith('file:') ? fileURLToPath(specifier) : resolve(cwd, specifier);
  if (existsSync(path) && statSync(path).isFile()) return path;
  try {
    // A directory with a package.json or index file, or a path without its extension.
    return createRequire(join(cwd, 'noop.js')).resolve(path);
  } catch {
    throw new UpgradeKitError(
      ErrorCodes.BAD_INPUT,
      `${where}: plugin file not found: ${path} (from "${specifier}", relative to ${cwd}). Check the path, or build the plugin if it is compiled.`,
      { context: { specifier, path, cwd, fault: 'bad-plugin' } },
    );
  }
}

function resolvePackage(specifier: string, cwd: string, where: string): string {
  const match = /^((?:@[^/\\]+\/)?[^/\\@][^/\\]*)(\/.*)?$/.exec(specifier);
  if (!match) {
    throw new UpgradeKitError(
      ErrorCodes.BAD_INPUT,
      `${where}: "${specifier}" is neither a package name nor a path; start a path with ./ or /`,
      { context: { specifier, cwd, fault: 'bad-plugin' } },
    );
  }
  const [, name = '', rest] = match;
  const subpath = rest ? `.${rest}` : '.';
  const require = createRequire(join(cwd, 'noop.js'));
  for (const dir of require.resolve.paths(specifier) ?? []) {
    const root = join(dir, name);
    const manifest = join(root, 'package.json');
    if (!existsSync(manifest)) continue;
    const exports = (JSON.parse(readFileSync(manifest, 'utf8')) as { exports?: unknown }).exports;
    if (exports === undefined) break; // no `exports`: require's `main`/index lookup is the same as import's
    const target = exportTarget(exports, subpath);
    if (!target || !existsSync(join(root, target))) {
      throw new UpgradeKitError(
        ErrorCodes.BAD_INPUT,
        `${where}: package "${name}" (${root}) does not export "${subpath}" for import; check its package.json "exports"`,
        { context: { specifier, path: root, cwd, fault: 'bad-plugin' } },
      );
    }
    return join(root, target);
  }
  try {
    return require.resolve(specifier);
  } catch (error) {
    const asPath = resolve(cwd, specifier);
    const hint = existsSync(asPath)
      ? ` There is a file ${asPath}: to load it, write "./${specifier}".`
      : ` Install it (npm install ${name}) or pass a path such as ./plugins/${name.replace(/^@[^/]+\//, '')}.mjs.`;
    throw new UpgradeKitError(
      ErrorCodes.BAD_INPUT,
      `${where}: cannot find plugin package "${specifier}" from ${cwd}.${hint}`,
      { cause: error, context: { specifier, cwd, fault: 'bad-plugin' } },
    );
  }
}

function exportTarget(exports: unknown, subpath: string): string | undefined {
  const keyed =
    exports !== null &&
    typeof exports === 'object' &&
    !Array.isArray(exports) &&
    Object.keys(exports).some((key) => key.startsWith('.'));
  if (!keyed) return subpath === '.' ? conditionTarget(exports) : undefined;
  return conditionTarget((exports as Record<string, unknown>)[subpath]);
}

function conditionTarget(entry: unknown): string | undefined {
  if (typeof entry === 'string') return entry;
  if (Array.isArray(entry)) return entry.map(conditionTarget).find((t) => t !== undefined);
  if (entry === null || typeof entry !== 'object') return undefined;
  for (const [condition, value] of Object.entries(entry)) {
    if (CONDITIONS.includes(condition)) {
      const target = conditionTarget(value);
      if (target !== undefined) return target;
    }
  }
  return undefined;
}

/**
 * Imports a resolved plugin module and checks that its default export is a plugin. Runs the
 * module's top-level code: call it in the process that is meant to run the plugin.
 */
export async function importPlugin(resolved: ResolvedPlugin, where = 'loadPlugin'): Promise<UpgradePlugin> {
  let namespace: Record<string, unknown>;
  try {
    namespace = (await import(resolved.url)) as Record<string, unknown>;
  } catch (error) {
    throw new UpgradeKitError(
      ErrorCodes.PLUGIN_FAILED,
      `plugin "${resolved.specifier}" failed to load from ${resolved.path}: ${describeError(error).message}`,
      {
        cause: error,
        context: {
          plugin: resolved.specifier,
          specifier: resolved.specifier,
          path: resolved.path,
          fault: 'load',
        },
      },
    );
  }
  let plugin = namespace.default;
  // A CommonJS build of `export default` arrives as `{ __esModule, default }`.
  if (isObject(plugin) && '__esModule' in plugin && isObject(plugin.default)) plugin = plugin.default;
  const context = { specifier: resolved.specifier, path: resolved.path, fault: 'bad-plugin' };
  if (plugin === undefined) {
    throw new UpgradeKitError(
      ErrorCodes.BAD_INPUT,
      `${where}: plugin "${resolved.specifier}" (${resolved.path}) has no default export. Export the plugin object: \`export default definePlugin({ name: 'my-plugin', … })\`.`,
      { context },
    );
  }
  const problems = pluginProblems(plugin);
  if (problems.length > 0) {
    throw new UpgradeKitError(
      ErrorCodes.BAD_INPUT,
      `${where}: the default export of "${resolved.specifier}" (${resolved.path}) is not an upgrade plugin — ${problems.join('; ')}`,
      { context: { ...context, problems } },
    );
  }
  return plugin as UpgradePlugin;
}

/**
 * Resolves, imports and checks a plugin, in this process. To run untrusted code, use
 * `runIsolated` instead, which does all of this in a child process.
 *
 * @example
 * const { plugin } = await loadPlugin('./plugins/orders.mjs', { cwd: releaseDir });
 * const checks = await plugin.dataQuality?.(context);
 */
export async function loadPlugin(specifier: string, options: LoadPluginOptions = {}): Promise<LoadedPlugin> {
  const resolved = resolvePlugin(specifier, options, 'loadPlugin');
  return { ...resolved, plugin: await importPlugin(resolved) };
}

/** What is wrong with a would-be plugin object, field by field; empty when it is fine. */
export function pluginProblems(value: unknown): string[] {
  if (!isObject(value) || Array.isArray(value)) {
    return [`expected an object with at least a \`name\`, got ${kind(value)}`];
  }
  const problems: string[] = [];
  if (typeof value.name !== 'string' || value.name.trim() === '') {
    problems.push(`\`name\` must be a non-empty string (got ${kind(value.name)})`);
  }
  for (const field of ['version', 'description'] as const) {
    if (value[field] !== undefined && typeof value[field] !== 'string') {
      problems.push(`\`${field}\` must be a string (got ${kind(value[field])})`);
    }
  }
  if (value.criticality !== undefined && !CRITICALITIES.includes(value.criticality as string)) {
    problems.push(
      `\`criticality\` must be one of ${CRITICALITIES.join(', ')} (got ${kind(value.criticality)})`,
    );
  }
  for (const method of METHODS) {
    if (value[method] !== undefined && typeof value[method] !== 'function') {
      problems.push(`\`${method}\` must be a function (got ${kind(value[method])})`);
    }
  }
  if (value.tasks !== undefined && !Array.isArray(value.tasks) && typeof value.tasks !== 'function') {
    problems.push(`\`tasks\` must be an array or a function (got ${kind(value.tasks)})`);
  }
  if (value.hooks !== undefined) {
    if (!isObject(value.hooks) || Array.isArray(value.hooks)) {
      problems.push(`\`hooks\` must be an object keyed by stage (got ${kind(value.hooks)})`);
    } else {
      const seen = new Map<string, string>();
      for (const [stage, hook] of Object.entries(value.hooks)) {
        const cutPoint = toStage(stage);
        if (!cutPoint) {
          problems.push(`\`hooks.${stage}\`: ${unknownStageMessage(stage)}`);
        } else if (seen.has(cutPoint)) {
          problems.push(
            `\`hooks.${stage}\` and \`hooks.${seen.get(cutPoint)}\` are the same stage (${stageLabel(cutPoint)}): keep one`,
          );
        } else if (typeof hook !== 'function') {
          problems.push(`\`hooks.${stage}\` must be a function (got ${kind(hook)})`);
        }
        if (cutPoint && !seen.has(cutPoint)) seen.set(cutPoint, stage);
      }
    }
  }
  // Unknown fields are allowed (a plugin may carry its own data), but a near miss is a typo.
  for (const key of Object.keys(value)) {
    if (FIELDS.includes(key)) continue;
    const guess = nearest(key, FIELDS, 2);
    if (guess) problems.push(`unknown field \`${key}\` — did you mean \`${guess}\`?`);
  }
  return problems;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object';
}

function kind(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}
