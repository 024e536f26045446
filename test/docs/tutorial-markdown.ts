// Runs the fenced blocks of a documentation page in order, as a reader would type them into one
// terminal. The conventions are described at the top of test/docs-tutorial.test.ts.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { spawnAsync } from '../support/spawn.js';

export type Block =
  | { kind: 'sh'; line: number; heading: string; text: string }
  | { kind: 'skip'; line: number; heading: string; text: string }
  | { kind: 'file'; line: number; heading: string; text: string; path: string; keepLine1: boolean }
  | { kind: 'output'; line: number; heading: string; text: string }
  | { kind: 'other'; line: number; heading: string; text: string; info: string };

/** The fenced blocks of a Markdown file, with the `## ` heading each is under and its line. */
export function blocks(file: string): Block[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const found: Block[] = [];
  let heading = '';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.startsWith('## ')) heading = line.slice(3).trim();
    const open = /^```(.*)$/.exec(line);
    if (!open) continue;
    const info = (open[1] ?? '').trim();
    const start = i + 1;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i] !== '```'; i++) body.push(lines[i] as string);
    if (i >= lines.length) throw new Error(`${file}:${start}: a fenced block is not closed`);
    const text = `${body.join('\n')}\n`;
    const words = info.split(/\s+/);
    const file_ = words.find((w) => w.startsWith('file='))?.slice('file='.length);
    const base = { line: start, heading, text };
    if (file_) found.push({ ...base, kind: 'file', path: file_, keepLine1: words.includes('keep-line-1') });
    else if (info === 'sh') found.push({ ...base, kind: 'sh' });
    else if (info === 'sh skip-test') found.push({ ...base, kind: 'skip' });
    else if (info === 'text output') found.push({ ...base, kind: 'output' });
    else found.push({ ...base, kind: 'other', info });
  }
  return found;
}

/**
 * One line of an output block as a pattern: `…` is any text (the spaces beside it included, so
 * `a … b` matches `a b`), runs of white space are one space.
 */
function pattern(expected: string): RegExp {
  const parts = expected.trim().replace(/\s+/g, ' ').split('…');
  const escaped = parts.map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/^ | $/g, ' ?'));
  return new RegExp(`^${escaped.join('.*')}$`);
}

/**
 * Where an output block's lines are missing from what was printed: each non-empty line must match a
 * whole printed line (white space normalised), in order. Returns the first line not found.
 */
export function missingOutput(expected: string, printed: string): string | undefined {
  const actual = printed.split('\n').map((l) => l.trim().replace(/\s+/g, ' '));
  let at = 0;
  for (const line of expected.split('\n')) {
    if (line.trim() === '') continue;
    const re = pattern(line);
    const index = actual.findIndex((a, i) => i >= at && re.test(a));
    if (index < 0) return line;
    at = index + 1;
  }
  return undefined;
}

export interface RunResult {
  readonly ran: number;
  readonly skipped: number;
  readonly files: number;
  readonly outputs: number;
}

export interface RunOptions {
  /** The reader's directory: where the first block starts. */
  readonly cwd: string;
  /** Where the shell state between blocks (variables, directory) is kept. */
  readonly stateDir: string;
  readonly env: NodeJS.ProcessEnv;
  /** Called before each block runs (e.g. to check the state before a clean-up section). */
  readonly before?: (block: Block) => Promise<void> | void;
  readonly timeoutMs?: number;
}

/**
 * Runs a page: each `sh` block with `bash -euo pipefail` (variables assigned are exported and
 * carried to the next block with the working directory, as in one terminal), each file block
 * written, each output block compared with what the sh blocks since the previous output block
 * printed (their stdout, then their stderr, block by block). Throws with the page's line on the
 * first block that exits non-zero or the first output line not printed.
 */
export async function runPage(page: string, options: RunOptions): Promise<RunResult> {
  const result = { ran: 0, skipped: 0, files: 0, outputs: 0 };
  const envFile = join(options.stateDir, 'env');
  const cwdFile = join(options.stateDir, 'cwd');
  writeFileSync(envFile, '');
  writeFileSync(cwdFile, options.cwd);
  let printed = '';
  const where = (b: Block) => `${page}:${b.line} (${b.heading || 'top'})`;
  for (const block of blocks(page)) {
    await options.before?.(block);
    if (block.kind === 'skip') result.skipped++;
    else if (block.kind === 'other') continue;
    else if (block.kind === 'file') {
      const cwd = readFileSync(cwdFile, 'utf8').trim();
      const target = join(cwd, block.path);
      let content = block.text;
      if (block.keepLine1) {
        const first = readFileSync(target, 'utf8').split('\n')[0] ?? '';
        if (!first.startsWith('# yaml-language-server: $schema='))
          throw new Error(
            `${where(block)}: keep-line-1, but ${block.path} starts with ${JSON.stringify(first)}`,
          );
        content = `${first}\n${content}`;
      }
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, content);
      result.files++;
    } else if (block.kind === 'output') {
      const missing = missingOutput(block.text, printed);
      if (missing !== undefined)
        throw new Error(`${where(block)}: not printed: ${JSON.stringify(missing)}\n--- printed:\n${printed}`);
      printed = '';
      result.outputs++;
    } else {
      const script = [
        'set -a',
        `. '${envFile}'`,
        `cd "$(cat '${cwdFile}')"`,
        `trap 'export -p > '"'${envFile}'"'; pwd > '"'${cwdFile}'"'' EXIT`,
        block.text,
      ].join('\n');
      const r = await spawnAsync('bash', ['-euo', 'pipefail', '-c', script], {
        ...(options.env ? { env: options.env } : {}),
        timeout: options.timeoutMs ?? 60_000,
      });
      printed += r.stdout + r.stderr;
      // For whoever edits a page: UPGRADEKIT_DOCS_TRACE=1 shows what each block printed.
      if (process.env.UPGRADEKIT_DOCS_TRACE)
        process.stderr.write(
          `\n=== ${where(block)}\n${block.text}--- exit ${r.status}\n${r.stdout}${r.stderr}`,
        );
      if (r.status !== 0)
        throw new Error(
          `${where(block)}: exit ${r.status ?? r.signal}\n${block.text}--- stdout:\n${r.stdout}--- stderr:\n${r.stderr}`,
        );
      result.ran++;
    }
  }
  return result;
}
