// Every ```ts / ```typescript block in docs/*.md is a program a reader may paste: this type-checks
// all of them, strictly (tsconfig.base.json's settings), against today's @upgradekit/core — its
// sources, as tsconfig.test.json and vitest.config.ts resolve it, so no build is needed. One
// compiler program covers every snippet (a few seconds).
//
// Conventions (docs/README.md describes them for writers):
// - A snippet is complete: it imports what it uses and defines its helpers.
// - ```ts fragment marks a deliberate excerpt; it is skipped, and the skips are counted and capped.
// - <!-- snippet-dir: test/oracle --> on the line before a fence checks the snippet as a file of
//   that folder, for code that imports the repository's own test support by a relative path.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkSnippets, extractSnippets, type Snippet } from './docs/snippets.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const docsDir = join(root, 'docs');

/**
 * Snippets known to be broken in pages this change does not own, each still checked: the test
 * fails when one starts to pass, so the entry is removed as soon as the page is fixed.
 */
const KNOWN_BROKEN: readonly { doc: string; contains: string; why: string }[] = [];

/** Complete snippets in docs/ when this test was written; more is fine, fewer means lost checks. */
const AT_LEAST_CHECKED = 22;
const AT_MOST_SKIPPED = 3;

function docSnippets(): { snippets: Snippet[]; fences: number } {
  const snippets: Snippet[] = [];
  let fences = 0;
  for (const name of readdirSync(docsDir)
    .filter((f) => f.endsWith('.md'))
    .sort()) {
    const text = readFileSync(join(docsDir, name), 'utf8');
    snippets.push(...extractSnippets(`docs/${name}`, text));
    // Counted independently of the extractor: a block it missed would go unchecked.
    fences += text.split('\n').filter((l) => /^\s*```\s*(ts|typescript)\b/.test(l)).length;
  }
  return { snippets, fences };
}

const where = (s: Snippet) => `${s.doc}:${s.line}`;

describe('TypeScript snippets in docs/*.md', () => {
  it('all type-check against @upgradekit/core with strict settings', () => {
    const { snippets, fences } = docSnippets();
    expect(snippets.length, 'every ts fence was extracted').toBe(fences);

    const knownBroken = KNOWN_BROKEN.map((k) => {
      const found = snippets.filter((s) => s.doc === k.doc && s.code.includes(k.contains));
      expect(
        found.map(where),
        `KNOWN_BROKEN entry ${k.doc} "${k.contains}" matches one snippet`,
      ).toHaveLength(1);
      return { ...k, snippet: found[0] as Snippet };
    });
    const skipped = snippets.filter((s) => s.skip);
    const checked = snippets.filter((s) => !s.skip && !knownBroken.some((k) => k.snippet === s));
    expect(checked.length).toBeGreaterThanOrEqual(AT_LEAST_CHECKED);
    expect(
      skipped.length,
      `ts fragment blocks stay rare: ${skipped.map(where).join(', ')}`,
    ).toBeLessThanOrEqual(AT_MOST_SKIPPED);
    console.info(
      `docs snippets: ${checked.length} type-checked, ${skipped.length} skipped (ts fragment), ` +
        `${knownBroken.length} known broken (${knownBroken.map((k) => where(k.snippet)).join(', ')})`,
    );

    const errors = checkSnippets([...checked, ...knownBroken.map((k) => k.snippet)], { root });
    for (const k of knownBroken) {
      expect(
        errors.some((e) => e.snippet === k.snippet),
        `${where(k.snippet)} type-checks now: remove it from KNOWN_BROKEN (${k.why})`,
      ).toBe(true);
    }
    const real = errors.filter((e) => !knownBroken.some((k) => k.snippet === e.snippet));
    if (real.length > 0) {
      throw new Error(
        `${real.length} type error(s) in docs snippets:\n\n${real.map((e) => e.message).join('\n\n')}`,
      );
    }
  }, 60_000);

  it('reports a broken snippet by its doc file and Markdown line, and honours the conventions', () => {
    const md = [
      '# Page',
      '',
      '```ts fragment',
      'this is skipped();',
      '```',
      '',
      '```typescript',
      "import { compareVersions } from '@upgradekit/core';",
      '',
      "const n: string = compareVersions('1.0.0', '2.0.0');",
      'undefinedHelper();',
      '```',
      '',
      '<!-- snippet-dir: test/oracle -->',
      '```ts',
      "import { diffSnapshots } from '../support/index.js';",
      'export const diff: typeof diffSnapshots = diffSnapshots;',
      '```',
      '```ts',
      "import { diffSnapshots } from '../support/index.js';",
      '```',
    ].join('\n');
    const snippets = extractSnippets('docs/fake.md', md);
    expect(snippets.map((s) => [s.line, s.skip, s.dir])).toEqual([
      [3, true, undefined],
      [7, false, undefined],
      [15, false, 'test/oracle'],
      [19, false, undefined],
    ]);
    const errors = checkSnippets(
      snippets.filter((s) => !s.skip),
      { root },
    ).map((e) => e.message);
    expect(errors).toHaveLength(3);
    expect(errors[0]).toMatch(/^docs\/fake\.md:10:7: Type 'number' is not assignable to type 'string'/);
    expect(errors[1]).toMatch(/^docs\/fake\.md:11:1: Cannot find name 'undefinedHelper'/);
    // The same import outside test/oracle/ does not resolve: the directory is really used.
    expect(errors[2]).toMatch(/^docs\/fake\.md:20:\d+: Cannot find module '\.\.\/support\/index\.js'/);
  }, 60_000);
});
