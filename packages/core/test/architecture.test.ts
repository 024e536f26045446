// The shape of core (issue 23, DESIGN §2): folders in layers, each importing only folders below it,
// no import cycle between files, and a folder reached through its index.ts. Read from the sources'
// own import statements (type-only imports too: a type cycle is still a cycle to a reader).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const src = fileURLToPath(new URL('../src', import.meta.url));

/** Bottom to top. A folder may import only folders earlier in this list. */
const LAYERS = [
  'errors',
  'events',
  'model',
  'version',
  'options',
  'state',
  'resilience',
  'remote',
  'service',
  'backup',
  'plugins',
  'stages',
  'release',
  'plan',
  'migrate',
  'assess',
  'rollout',
  'config',
  'datasources',
  'site',
  'commands',
] as const;

/**
 * A folder has two faces: `index.ts`, the public one (a package export), and `internal.ts`, what
 * core's other folders share and a user never needs (no package export; see surface.test.ts).
 */
const FACES = ['index.ts', 'internal.ts'];

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

const folderOf = (file: string) => {
  const parts = relative(src, file).split('/');
  return parts.length === 1 ? '.' : (parts[0] as string);
};
const show = (file: string) => relative(src, file);

interface Edge {
  readonly from: string;
  readonly to: string;
}

function edges(): Edge[] {
  return sources(src).flatMap((from) =>
    ts
      .preProcessFile(readFileSync(from, 'utf8'), true, true)
      .importedFiles.filter((i) => i.fileName.startsWith('.'))
      .map((i) => ({ from, to: resolve(dirname(from), i.fileName).replace(/\.js$/, '.ts') })),
  );
}

/** Strongly connected components of more than one file (Tarjan). */
function cycles(all: readonly Edge[]): string[][] {
  const next = new Map<string, string[]>();
  for (const e of all) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
  let index = 0;
  const order = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    order.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!order.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, order.get(w)!));
    }
    if (low.get(v) === order.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) found.push(component.map(show).sort());
    }
  };
  for (const v of next.keys()) if (!order.has(v)) visit(v);
  return found;
}

describe('the import graph of @upgradekit/core', () => {
  const all = edges();
  const cross = all.filter((e) => folderOf(e.from) !== folderOf(e.to) && folderOf(e.from) !== '.');

  it('reads a real graph', () => {
    expect(all.length).toBeGreaterThan(500);
    expect(cross.length).toBeGreaterThan(200);
    const pairs = new Set(cross.map((e) => `${folderOf(e.from)} -> ${folderOf(e.to)}`));
    for (const pair of ['commands -> site', 'site -> stages', 'stages -> model', 'model -> errors'])
      expect(pairs).toContain(pair);
  });

  it('has a layer for every folder', () => {
    const folders = new Set(sources(src).map(folderOf));
    folders.delete('.');
    expect([...folders].filter((f) => !(LAYERS as readonly string[]).includes(f))).toEqual([]);
  });

  it('has no upward import: a folder imports only the layers below it', () => {
    const rank = (folder: string) => LAYERS.indexOf(folder as (typeof LAYERS)[number]);
    const upward = cross
      .filter((e) => rank(folderOf(e.to)) >= rank(folderOf(e.from)))
      .map((e) => `${show(e.from)} -> ${show(e.to)}`);
    expect(upward).toEqual([]);
  });

  it('has no import cycle between files', () => {
    expect(cycles(all)).toEqual([]);
  });

  it('reaches other folders only through their faces (index.ts or internal.ts)', () => {
    const bypass = cross
      .filter((e) => !FACES.some((face) => relative(src, e.to) === `${folderOf(e.to)}/${face}`))
      .map((e) => `${show(e.from)} -> ${show(e.to)}`);
    expect(bypass.sort()).toEqual([]);
  });
});
