// What npm would publish: the packed file list, publint's package.json checks and
// arethetypeswrong's type resolution — for every public package.
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = (name: string) => `${root}node_modules/.bin/${name}`;

function packed(dir: string): string[] {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: `${root}${dir}`,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return (JSON.parse(out) as Array<{ files: Array<{ path: string }> }>)[0]?.files.map((f) => f.path) ?? [];
}

const packages = [
  {
    dir: 'packages/core',
    must: ['package.json', 'README.md', 'dist/index.js', 'dist/index.d.ts', 'schema/upgradekit.schema.json'],
    // Deliberate: CommonJS users `require()` the ESM build on Node ≥ 20.19, which attw does not model.
    // The sub-path exports (`@upgradekit/core/migrate`) need exports-aware resolution (node16,
    // nodenext, bundler): TypeScript's old `node10` cannot see them, as for any ESM-only package.
    attw: ['--profile', 'node16', '--ignore-rules', 'cjs-resolves-to-esm'],
  },
  {
    dir: 'packages/cli',
    must: [
      'package.json',
      'README.md',
      'bin/upgradekit.js',
      'dist/bin.js',
      'dist/index.js',
      'dist/index.d.ts',
    ],
    attw: ['--profile', 'esm-only'],
  },
];

describe.each(packages)('$dir as published', ({ dir, must, attw }) => {
  it('packs its build, schema and README, and nothing of the workbench', () => {
    const files = packed(dir);
    for (const file of must) expect(files).toContain(file);
    const stray = files.filter((f) => /(^src\/|^test\/|\.tsbuildinfo$|\.test\.)/.test(f));
    expect(stray).toEqual([]);
  });

  it('passes publint', () => {
    const r = spawnSync(bin('publint'), [dir, '--strict'], { cwd: root, encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });

  it('passes arethetypeswrong', () => {
    const r = spawnSync(bin('attw'), ['--pack', dir, '--format', 'ascii', ...attw], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });
});
