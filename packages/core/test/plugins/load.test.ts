import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isUpgradeKitError, type UpgradeKitError } from '@upgradekit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPlugin, resolvePlugin, runIsolated } from '../../src/plugins/index.js';
import { isPathSpecifier } from '../../src/plugins/load.js';
import { context, fixtures, rejection } from './support.js';

let project: string;

async function writePackage(name: string, manifest: object, files: Record<string, string>): Promise<void> {
  const root = join(project, 'node_modules', name);
  await mkdir(root, { recursive: true });
  await writeFile(join(root, 'package.json'), JSON.stringify({ name, version: '1.0.0', ...manifest }));
  for (const [file, text] of Object.entries(files)) await writeFile(join(root, file), text);
}

beforeAll(async () => {
  project = await mkdtemp(join(tmpdir(), 'upgradekit-plugins-'));
  // An ESM package that exports only under the `import` condition: require.resolve cannot find it.
  await writePackage(
    '@acme/upgrade-orders',
    { type: 'module', exports: { '.': { import: './index.mjs' }, './package.json': './package.json' } },
    {
      'index.mjs':
        "export default { name: 'acme-orders', estimate: () => [{ task: 'from ' + process.cwd(), durationMs: 1 }] };",
    },
  );
  // A CommonJS package with `main` and no `exports`, built from `export default`.
  await writePackage('upgrade-legacy', { main: 'lib/plugin.js' }, {});
  await mkdir(join(project, 'node_modules', 'upgrade-legacy', 'lib'));
  await writeFile(
    join(project, 'node_modules', 'upgrade-legacy', 'lib', 'plugin.js'),
    "'use strict'; Object.defineProperty(exports, '__esModule', { value: true }); exports.default = { name: 'legacy', tasks: [{ id: 'one' }] };",
  );
  await writePackage('upgrade-nothing', { type: 'module', exports: { './other': './other.mjs' } }, {});
  await mkdir(join(project, 'plugins'));
  await writeFile(join(project, 'plugins', 'local.mjs'), "export default { name: 'local' };");
});

afterAll(async () => {
  await rm(project, { recursive: true, force: true });
});

describe('loadPlugin', () => {
  it('loads by path, relative to cwd, and by absolute path or file URL', async () => {
    const relative = await loadPlugin('./plugins/local.mjs', { cwd: project });
    expect(relative.plugin.name).toBe('local');
    expect(relative.path).toBe(join(project, 'plugins', 'local.mjs'));
    expect((await loadPlugin(relative.path)).plugin.name).toBe('local');
    expect((await loadPlugin(pathToFileURL(relative.path).href)).plugin.name).toBe('local');
  });

  it('loads by package name from cwd: ESM `exports` with the import condition, and CommonJS `main`', async () => {
    const esm = await loadPlugin('@acme/upgrade-orders', { cwd: project });
    expect(esm.plugin.name).toBe('acme-orders');
    expect(esm.path).toBe(join(project, 'node_modules', '@acme', 'upgrade-orders', 'index.mjs'));
    const cjs = await loadPlugin('upgrade-legacy', { cwd: project });
    expect(cjs.plugin.name).toBe('legacy');
  });

  it('runs a package plugin isolated, in cwd', async () => {
    const estimate = await runIsolated('@acme/upgrade-orders', 'estimate', context, { cwd: project });
    expect(estimate).toEqual([{ task: `from ${project}`, durationMs: 1 }]);
  });

  it('says what to do when a package is not installed', async () => {
    const error = await rejection(loadPlugin('@acme/upgrade-missing', { cwd: project }));
    expect(isUpgradeKitError(error, 'UPGRADEKIT_BAD_INPUT')).toBe(true);
    expect((error as Error).message).toContain(
      `cannot find plugin package "@acme/upgrade-missing" from ${project}`,
    );
    expect((error as Error).message).toContain('npm install @acme/upgrade-missing');
  });

  it('points out a path written without ./', async () => {
    const error = await rejection(loadPlugin('plugins/local.mjs', { cwd: project }));
    expect((error as Error).message).toContain('write "./plugins/local.mjs"');
  });

  it('says which path was tried when a file is missing', async () => {
    const error = await rejection(loadPlugin('./plugins/gone.mjs', { cwd: project }));
    expect(isUpgradeKitError(error, 'UPGRADEKIT_BAD_INPUT')).toBe(true);
    expect((error as Error).message).toContain(
      `plugin file not found: ${join(project, 'plugins', 'gone.mjs')}`,
    );
  });

  it('names a package whose exports do not cover the import', async () => {
    const error = await rejection(loadPlugin('upgrade-nothing', { cwd: project }));
    expect((error as Error).message).toContain('package "upgrade-nothing"');
    expect((error as Error).message).toContain('does not export "."');
  });

  it('refuses a module without a default export, and says how to export one', async () => {
    const error = await rejection(loadPlugin('./no-default.mjs', { cwd: fixtures }));
    expect(isUpgradeKitError(error, 'UPGRADEKIT_BAD_INPUT')).toBe(true);
    expect((error as Error).message).toContain('has no default export');
    expect((error as Error).message).toContain('export default definePlugin(');
  });

  it('lists every problem with a default export that is not a plugin', async () => {
    const error = (await rejection(loadPlugin('./not-a-plugin.mjs', { cwd: fixtures }))) as UpgradeKitError;
    expect(error.code).toBe('UPGRADEKIT_BAD_INPUT');
    expect(error.context.problems).toEqual([
      '`name` must be a non-empty string (got nothing)',
      '`resources` must be a function (got "not a function")',
      expect.stringContaining('`hooks.preStrat`: unknown stage "preStrat" — did you mean "preStart"?'),
      'unknown field `nme` — did you mean `name`?',
    ]);
  });

  it('reports a module that throws while loading as a plugin failure', async () => {
    const error = (await rejection(loadPlugin('./broken-import.mjs', { cwd: fixtures }))) as UpgradeKitError;
    expect(error.code).toBe('UPGRADEKIT_PLUGIN_FAILED');
    expect(error.context.fault).toBe('load');
    expect(error.message).toContain('cannot initialise: DB_URL is not set');
  });

  it('rejects specifiers that are neither', () => {
    expect(() => resolvePlugin('')).toThrow(/expected a plugin package name or path/);
    expect(() => resolvePlugin('has spaces/@x', { cwd: project })).toThrow(/cannot find plugin package/);
    expect(isPathSpecifier('./x.mjs')).toBe(true);
    expect(isPathSpecifier('@acme/x')).toBe(false);
  });

  it('loading errors of an isolated plugin keep their code', async () => {
    const [missing, shape] = await Promise.all([
      rejection(runIsolated('./nope.mjs', 'resources', context, { cwd: fixtures })),
      rejection(runIsolated('./no-default.mjs', 'resources', context, { cwd: fixtures })),
    ]);
    expect(isUpgradeKitError(missing, 'UPGRADEKIT_BAD_INPUT')).toBe(true);
    expect(isUpgradeKitError(shape, 'UPGRADEKIT_BAD_INPUT')).toBe(true);
    expect((shape as Error).message).toContain('has no default export');
  });
});
