import { parseLines } from 'dot-properties';
import type { ReleaseProblem } from './types.js';

/** One `sql.{uid}.*` or `tool.{uid}.*` group of the seed's upgrade_tasks_V<v>.properties. */
export interface PropertyTask {
  readonly type: 'sql' | 'tool';
  readonly uid: string;
  readonly line: number;
  readonly fields: Map<string, { value: string; line: number }>;
}

function lineOf(text: string): (offset: number) => number {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') starts.push(i + 1);
  return (offset) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((starts[mid] ?? 0) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
}

const KEY = /^(sql|tool)\.([^.]+)\.([A-Za-z_]+)$/;

/**
 * Reads a seed-format .properties file into task groups, in order of first appearance, with the
 * line of every field. Keys that are not `sql|tool.{uid}.{field}` are problems, not silently ignored.
 */
export function parseTaskProperties(
  text: string,
  file: string,
): { tasks: PropertyTask[]; problems: ReleaseProblem[] } {
  const line = lineOf(text);
  const groups = new Map<string, PropertyTask>();
  const problems: ReleaseProblem[] = [];
  // dot-properties reads a malformed `\uZZZZ` as `uZZZZ`; Java refuses it, and so do we.
  text.split('\n').forEach((content, index) => {
    if (/(^|[^\\])(\\\\)*\\u(?![0-9a-fA-F]{4})/.test(content))
      problems.push({
        file,
        line: index + 1,
        message: 'a \\u escape needs four hex digits (\\u00e9); write \\\\u for a backslash followed by u',
      });
  });
  for (const node of parseLines(text, true)) {
    if (node.type !== 'PAIR') continue;
    const pair = node as unknown as { key: string; value: string; range: [number, number, number, number] };
    const at = line(pair.range[0]);
    const match = KEY.exec(pair.key);
    if (!match) {
      problems.push({
        file,
        line: at,
        field: pair.key,
        message: 'expected a key of the form sql.{uid}.{field} or tool.{uid}.{field}',
      });
      continue;
    }
    const [, type, uid, field] = match as unknown as [string, 'sql' | 'tool', string, string];
    const key = `${type}.${uid}`;
    let group = groups.get(key);
    if (!group) {
      group = { type, uid, line: at, fields: new Map() };
      groups.set(key, group);
    }
    if (group.fields.has(field)) {
      problems.push({
        file,
        line: at,
        field: pair.key,
        message: `set twice (first on line ${group.fields.get(field)?.line})`,
      });
    }
    group.fields.set(field, { value: pair.value.trim(), line: at });
  }
  return { tasks: [...groups.values()], problems };
}

/** The orchestration file: `sql|tool.{id}.stage` overrides. */
export function parseOrchestration(
  text: string,
  file: string,
): {
  overrides: { type: 'sql' | 'tool'; id: string; stage: string; line: number }[];
  problems: ReleaseProblem[];
} {
  const { tasks, problems } = parseTaskProperties(text, file);
  const overrides = [];
  for (const task of tasks) {
    for (const [field, { value, line }] of task.fields) {
      if (field === 'stage') overrides.push({ type: task.type, id: task.uid, stage: value, line });
      else
        problems.push({
          file,
          line,
          field: `${task.type}.${task.uid}.${field}`,
          message: 'only .stage can be overridden here',
        });
    }
  }
  return { overrides, problems };
}
