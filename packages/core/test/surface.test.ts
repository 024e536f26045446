// The public surface of @upgradekit/core (issue 23): each folder's index.ts is a package export and
// lists what a script or tool may use; internal.ts is what core's folders share and nobody else
// sees. public-surface.txt is the report of every public name, so a change to it is deliberate:
// review its diff like an API change (and write a changeset), then run `vitest -u` on this file.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const pkg = fileURLToPath(new URL('..', import.meta.url));
const src = join(pkg, 'src');
const manifest = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')) as {
  exports: Record<string, unknown>;
};
const faces = Object.keys(manifest.exports)
  .filter((k) => /^\.\/[a-z-]+$/.test(k))
  .map((k) => k.slice(2))
  .sort();
const folders = readdirSync(src, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name);
const internals = folders.filter((f) => readdirSync(join(src, f)).includes('internal.ts'));

const program = ts.createProgram(
  [
    join(src, 'index.ts'),
    ...folders.flatMap((f) => [join(src, f, 'index.ts')]),
    ...internals.map((f) => join(src, f, 'internal.ts')),
  ],
  {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    noEmit: true,
  },
);
const checker = program.getTypeChecker();

function kindOf(symbol: ts.Symbol): string {
  const s = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
  const f = s.flags;
  if (f & ts.SymbolFlags.Class) return 'class';
  if (f & ts.SymbolFlags.Function) return 'function';
  if (f & ts.SymbolFlags.Variable) return 'const';
  if (f & ts.SymbolFlags.Enum) return 'enum';
  if (f & ts.SymbolFlags.Interface) return 'interface';
  return 'type';
}

/** Every name a module exports, with its kind. */
function exportsOf(file: string): Map<string, string> {
  const source = program.getSourceFile(file);
  if (!source) throw new Error(`${file} is not in the program`);
  const module = checker.getSymbolAtLocation(source)!;
  return new Map(checker.getExportsOfModule(module).map((s) => [s.name, kindOf(s)]));
}

describe('the public surface of @upgradekit/core', () => {
  it('is the report in public-surface.txt, face by face', async () => {
    const report = faces.flatMap((face) => {
      const names = [...exportsOf(join(src, face, 'index.ts'))].sort(([a], [b]) => a.localeCompare(b));
      return [`@upgradekit/core/${face} (${names.length})`, ...names.map(([n, k]) => `  ${k} ${n}`), ''];
    });
    await expect(report.join('\n')).toMatchFileSnapshot('./public-surface.txt');
  });

  it('exports at the root exactly what the faces export', () => {
    const root = [...exportsOf(join(src, 'index.ts')).keys()].sort();
    const union = [...new Set(faces.flatMap((f) => [...exportsOf(join(src, f, 'index.ts')).keys()]))].sort();
    expect(root).toEqual(union);
  });

  it('keeps internal.ts out of the package exports and apart from index.ts', () => {
    expect(JSON.stringify(manifest.exports)).not.toMatch(/internal/);
    for (const folder of internals) {
      const face = exportsOf(join(src, folder, 'index.ts'));
      const shared = [...exportsOf(join(src, folder, 'internal.ts')).keys()].filter((n) => face.has(n));
      expect(shared, `${folder}: both public and internal`).toEqual([]);
    }
  });

  it('has in internal.ts only what another folder of core imports', () => {
    const used = new Map<string, Set<string>>(); // internal.ts path -> names imported from elsewhere
    for (const sourceFile of program.getSourceFiles()) {
      const file = sourceFile.fileName;
      if (!file.startsWith(src) || file.endsWith('.d.ts')) continue;
      for (const statement of sourceFile.statements) {
        if (!ts.isImportDeclaration(statement) && !ts.isExportDeclaration(statement)) continue;
        const spec = statement.moduleSpecifier;
        if (!spec || !ts.isStringLiteral(spec) || !spec.text.endsWith('/internal.js')) continue;
        const target = resolve(dirname(file), spec.text).replace(/\.js$/, '.ts');
        if (dirname(target) === dirname(file)) continue;
        const names = used.get(target) ?? new Set<string>();
        const bindings = ts.isImportDeclaration(statement)
          ? statement.importClause?.namedBindings
          : statement.exportClause;
        if (bindings && (ts.isNamedImports(bindings) || ts.isNamedExports(bindings)))
          for (const e of bindings.elements) names.add((e.propertyName ?? e.name).text);
        used.set(target, names);
      }
    }
    const unused = internals.flatMap((folder) => {
      const file = join(src, folder, 'internal.ts');
      return [...exportsOf(file).keys()]
        .filter((n) => !used.get(file)?.has(n))
        .map((n) => `${relative(src, file)}: ${n}`);
    });
    expect(unused).toEqual([]);
  });
});
