// Support for test/docs-snippets.test.ts: pull ```ts blocks out of Markdown and type-check them in
// one TypeScript program, reporting each error at its line in the Markdown.
import { join } from 'node:path';
import ts from 'typescript';

export interface Snippet {
  /** The Markdown file, as it should appear in a message (docs/engine.md). */
  doc: string;
  /** 1-based line of the opening fence in the Markdown. */
  line: number;
  /** The code between the fences. */
  code: string;
  /** A `ts fragment` block: shown, not checked. */
  skip: boolean;
  /**
   * Where the snippet is meant to live, relative to the repository root, from a
   * `<!-- snippet-dir: test/oracle -->` comment on the line before the fence (for code that imports
   * the repository's own test support by a relative path). Default: the repository root.
   */
  dir?: string;
}

const OPEN = /^(\s*)```\s*(ts|typescript)\b(.*)$/;
const DIR = /^\s*<!--\s*snippet-dir:\s*([\w./-]+)\s*-->\s*$/;
const CLOSE = /^\s*```\s*$/;

/** Every ```ts / ```typescript block of a Markdown text, with the line of its opening fence. */
export function extractSnippets(doc: string, markdown: string): Snippet[] {
  const lines = markdown.split('\n');
  const out: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = OPEN.exec(lines[i] ?? '');
    if (!open) {
      // Skip other fenced blocks whole, so a ```ts inside a ```md example is not taken for code.
      if (/^\s*```/.test(lines[i] ?? '')) {
        const end = lines.findIndex((l, j) => j > i && CLOSE.test(l));
        if (end > i) i = end;
      }
      continue;
    }
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !CLOSE.test(lines[j] ?? '')) body.push(lines[j++] ?? '');
    if (j >= lines.length) throw new Error(`${doc}:${i + 1}: unclosed \`\`\`${open[2]} block`);
    const dir = DIR.exec(lines[i - 1] ?? '')?.[1];
    out.push({
      doc,
      line: i + 1,
      code: body.join('\n'),
      skip: /\bfragment\b/.test(open[3] ?? ''),
      ...(dir ? { dir } : {}),
    });
    i = j;
  }
  return out;
}

/** Strict settings, as in tsconfig.base.json; @upgradekit/core resolves to its sources. */
function compilerOptions(root: string): ts.CompilerOptions {
  return {
    target: ts.ScriptTarget.ES2022,
    lib: ['lib.es2023.d.ts'],
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    types: ['node'],
    typeRoots: [join(root, 'node_modules', '@types')],
    strict: true,
    noUncheckedIndexedAccess: true,
    noImplicitOverride: true,
    noFallthroughCasesInSwitch: true,
    skipLibCheck: true,
    noEmit: true,
    paths: { '@upgradekit/core': [join(root, 'packages', 'core', 'src', 'index.ts')] },
  };
}

export interface SnippetError {
  readonly snippet: Snippet;
  /** `docs/file.md:LINE:COL: message` and the offending line, LINE being the line in the Markdown. */
  readonly message: string;
}

/**
 * Type-checks every snippet in one program. Each snippet is its own module, a file that exists only
 * in the compiler host (`__docs_<doc>_L<line>.ts` in the repository root, or in its `snippet-dir`),
 * so packages resolve from the repository's node_modules as they would for a file there. Returns one
 * entry per error; problems with the compiler options themselves come back as errors of the first
 * snippet, so they cannot pass unnoticed.
 */
export function checkSnippets(snippets: readonly Snippet[], opts: { root: string }): SnippetError[] {
  const options = compilerOptions(opts.root);
  const byFile = new Map<string, { snippet: Snippet; text: string }>();
  for (const s of snippets) {
    const name = `__docs_${s.doc.replace(/[^A-Za-z0-9]+/g, '_')}_L${s.line}.ts`;
    const file = join(opts.root, s.dir ?? '', name).replaceAll('\\', '/');
    // `export {}` makes each file a module: top-level await works and names do not clash across
    // snippets. It goes last so the snippet's lines keep their numbers.
    byFile.set(file, { snippet: s, text: `${s.code}\nexport {};\n` });
  }
  const host = ts.createCompilerHost(options);
  const { fileExists, readFile, getSourceFile } = host;
  host.fileExists = (f) => byFile.has(f) || fileExists.call(host, f);
  host.readFile = (f) => byFile.get(f)?.text ?? readFile.call(host, f);
  host.getSourceFile = (f, language, onError, create) => {
    const virtual = byFile.get(f);
    return virtual
      ? ts.createSourceFile(f, virtual.text, language)
      : getSourceFile.call(host, f, language, onError, create);
  };
  const program = ts.createProgram([...byFile.keys()], options, host);
  const errors: SnippetError[] = [];
  for (const [file, { snippet: s }] of byFile) {
    const source = program.getSourceFile(file);
    if (!source) {
      errors.push({ snippet: s, message: `${s.doc}:${s.line}: the snippet was not part of the program` });
      continue;
    }
    const diagnostics = [
      ...program.getSyntacticDiagnostics(source),
      ...program.getSemanticDiagnostics(source),
    ];
    for (const d of diagnostics) {
      const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
      if (d.file && d.start !== undefined) {
        const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
        const code = d.file.text.split('\n')[line]?.trim() ?? '';
        errors.push({
          snippet: s,
          message: `${s.doc}:${s.line + 1 + line}:${character + 1}: ${text}\n    ${code}`,
        });
      } else errors.push({ snippet: s, message: `${s.doc}:${s.line}: ${text}` });
    }
  }
  // Problems with the options themselves would otherwise pass silently.
  const first = snippets[0];
  for (const d of [...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics()]) {
    const text = `compiler options: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    if (first) errors.push({ snippet: first, message: text });
  }
  return errors;
}
