// The published shape of @upgradekit/core: the built files load through the package name, from
// ESM and from CommonJS (`require()` of ESM, Node ≥ 20.19), and export the public names.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const built = existsSync(`${root}packages/core/dist/index.js`);
const publicNames = [
  'parseVersion',
  'compareVersions',
  'sortVersions',
  'satisfies',
  'defaultVersionScheme',
  'withTimeout',
  'retry',
  'classifyError',
  'UpgradeKitError',
  'UpgradeKitTimeoutError',
  'UpgradeKitRetryError',
  'EventBus',
  'ConsoleReporter',
  'JsonLinesReporter',
  'ProgressTracker',
];

function node(args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8' });
}

describe('@upgradekit/core as installed', () => {
  it('is built (npm test builds before testing)', () => {
    expect(built, 'packages/core/dist/index.js is missing: run `npm run build`').toBe(true);
  });

  it.runIf(built)('loads from ESM with every public name', () => {
    const out = node([
      '--input-type=module',
      '-e',
      `const m = await import('@upgradekit/core'); console.log(JSON.stringify(Object.keys(m)))`,
    ]);
    expect(JSON.parse(out)).toEqual(expect.arrayContaining(publicNames));
  });

  it.runIf(built)('loads from CommonJS through require()', () => {
    const out = node([
      '--input-type=commonjs',
      '-e',
      `const m = require('@upgradekit/core'); console.log(m.compareVersions('2.16.7-P1', '2.16.7-P1-T1'))`,
    ]);
    expect(out.trim()).toBe('-1');
  });

  it.runIf(built)('offers each folder face as a sub-path; internals stay private', () => {
    const manifest = JSON.parse(readFileSync(`${root}packages/core/package.json`, 'utf8'));
    const faces = Object.keys(manifest.exports).filter((k) => /^\.\/[a-z-]+$/.test(k));
    expect(faces).toEqual(
      expect.arrayContaining(['./migrate', './remote', './commands', './model', './config']),
    );
    const out = node([
      '--input-type=module',
      '-e',
      `const m = await import('@upgradekit/core/migrate');
       const r = await import('@upgradekit/core/remote');
       let internal = 'importable';
       try { await import('@upgradekit/core/dist/stages/run.js'); } catch (e) { internal = e.code; }
       console.log(JSON.stringify({ migrate: typeof m.splitStatements, remote: typeof r.SshSession, internal }))`,
    ]);
    expect(JSON.parse(out)).toEqual({
      migrate: 'function',
      remote: 'function',
      internal: 'ERR_PACKAGE_PATH_NOT_EXPORTED',
    });
    // Every face a sub-path, and the root still re-exports each (compatibility).
    const rootIndex = readFileSync(`${root}packages/core/src/index.ts`, 'utf8');
    for (const face of faces) expect(rootIndex).toContain(`export * from '${face}/index.js'`);
  });

  it('declares Node ≥ 20.19, ESM, no side effects, and a types + default export', () => {
    const manifest = JSON.parse(readFileSync(`${root}packages/core/package.json`, 'utf8'));
    expect(manifest).toMatchObject({
      type: 'module',
      sideEffects: false,
      engines: { node: '>=20.19' },
      exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' } },
    });
  });

  it('locks no dependency that needs a newer Node than 20.19', async () => {
    const semver = (await import('semver')).default;
    const lock = JSON.parse(readFileSync(`${root}package-lock.json`, 'utf8')) as {
      packages: Record<string, Locked>;
    };
    // @github/local-action (a test tool) pulls @azure/* packages that ask for Node 22 for the
    // artifact and cache services it stubs; we never call them, and its own test runs on Node 20.
    // Everything reachable without it — what the packages and the rest of the toolchain load — must
    // run on the Node 20 these machines have.
    const used = reachable(lock, ['@github/local-action']);
    expect(used.size).toBeGreaterThan(100); // the walk found the tree, not nothing
    const tooNew = Object.entries(lock.packages)
      .filter(([path, p]) => {
        const range = !Array.isArray(p.engines) ? p.engines?.node : undefined;
        return used.has(path) && range !== undefined && !semver.satisfies('20.19.0', range);
      })
      .map(([path, p]) => `${path}@${p.version} needs node ${(p.engines as { node: string }).node}`);
    expect(tooNew).toEqual([]);
  });
});

interface Locked {
  version?: string;
  engines?: { node?: string } | string[];
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

/** Lock paths reachable from the root and the workspaces, resolved as Node does, leaving out `except`. */
function reachable(lock: { packages: Record<string, Locked> }, except: readonly string[]): Set<string> {
  const resolve = (from: string, name: string): string | undefined => {
    // from "a/node_modules/b": look in a/node_modules/b/node_modules, a/node_modules, …, node_modules
    for (let dir = from; ; ) {
      const candidate = `${dir ? `${dir}/` : ''}node_modules/${name}`;
      if (lock.packages[candidate]) return candidate;
      if (!dir) return undefined;
      const cut = dir.lastIndexOf('/node_modules/');
      dir = cut >= 0 ? dir.slice(0, cut) : '';
    }
  };
  const seen = new Set<string>();
  const queue: Array<[string, string]> = [];
  const enqueue = (path: string, p: Locked, dev: boolean) => {
    const deps = {
      ...p.dependencies,
      ...p.optionalDependencies,
      ...p.peerDependencies,
      ...(dev ? p.devDependencies : {}),
    };
    for (const name of Object.keys(deps)) if (!except.includes(name)) queue.push([path, name]);
  };
  for (const [path, p] of Object.entries(lock.packages))
    if (path === '' || path.startsWith('packages/')) enqueue(path, p, true);
  while (queue.length > 0) {
    const [from, name] = queue.pop() as [string, string];
    const path = resolve(from, name);
    if (!path || seen.has(path)) continue;
    seen.add(path);
    enqueue(path, lock.packages[path] as Locked, false);
  }
  return seen;
}
