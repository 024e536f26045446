import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import type { ReleaseProblem } from './types.js';

export interface YamlSource {
  readonly value: unknown;
  readonly problems: ReleaseProblem[];
  /** Line and column of the value at `path`, or of its nearest existing parent. */
  locate(path: readonly PropertyKey[]): { line: number; column: number };
}

/** Parses YAML keeping positions, so a schema issue can name its line. */
export function parseYaml(text: string, file: string): YamlSource {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const problems: ReleaseProblem[] = doc.errors.map((error) => {
    const pos = lineCounter.linePos(error.pos[0]);
    return { file, line: pos.line, column: pos.col, message: `YAML: ${error.message.split('\n')[0]}` };
  });
  const locate = (path: readonly PropertyKey[]) => {
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn(path.slice(0, n) as unknown[], true) as
        | { range?: [number, number, number] }
        | undefined;
      if (node && typeof node === 'object' && node.range) {
        const pos = lineCounter.linePos(node.range[0]);
        return { line: pos.line, column: pos.col };
      }
    }
    return { line: 1, column: 1 };
  };
  let value: unknown;
  if (problems.length === 0) {
    try {
      // An alias bomb ("billion laughs") expands to gigabytes: refuse it instead of trying.
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (error) {
      problems.push({
        file,
        line: 1,
        column: 1,
        message: `YAML: ${(error as Error).message.split('\n')[0]}`,
      });
    }
  }
  return { value, problems, locate };
}

/** `tasks[2].stage` */
export function fieldPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (out, key) => (typeof key === 'number' ? `${out}[${key}]` : out ? `${out}.${String(key)}` : String(key)),
    '',
  );
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  return path.reduce<unknown>(
    (v, k) => (v && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined),
    value,
  );
}

/** Schema issues as problems with file, line, field and the offending value. */
export function schemaProblems(error: z.ZodError, source: YamlSource, file: string): ReleaseProblem[] {
  return error.issues.map((issue) => {
    const path = issue.path as PropertyKey[];
    const got = valueAt(source.value, path);
    const { line, column } = source.locate(path);
    // zod 4 names the keys in its message already; older messages did not.
    const unknownKeys =
      issue.code === 'unrecognized_keys'
        ? issue.keys
            .filter((k) => !issue.message.includes(`"${k}"`))
            .map((k) => ` "${k}"`)
            .join(',')
        : '';
    return {
      file,
      line,
      column,
      field: fieldPath(path) || '(top level)',
      message: `${issue.message}${unknownKeys}${got !== undefined && issue.code !== 'unrecognized_keys' && typeof got !== 'object' ? ` (got ${JSON.stringify(got)})` : ''}`,
    };
  });
}
