import { z } from 'zod';
import { type TaskInput, taskSchema, tasksFileSchema } from './schema.js';
import type { ReleaseProblem, SourceLocation } from './types.js';
import { parseYaml, schemaProblems } from './yaml-source.js';

/** A task before its paths are checked: from YAML or from the seed's .properties. */
export interface Declared {
  readonly input: TaskInput;
  readonly version: string;
  /** Directory its relative paths are resolved against. */
  readonly base: string;
  readonly source: SourceLocation;
  readonly type?: 'sql' | 'tool';
  readonly uid?: string;
  /** The line of a field of this task, so problems point at the right line. */
  readonly lineOf: (field: string) => number;
}

/** Where a file of tasks was found: its path, its version, the directory its paths are relative to. */
export interface DeclaredIn {
  readonly file: string;
  readonly version: string;
  readonly base: string;
  /** Where each problem found is added. */
  readonly problems: ReleaseProblem[];
}

/** The tasks of a `versions/<v>/tasks.yaml`, each checked on its own. */
export function fromYaml(text: string, at: DeclaredIn): Declared[] {
  const { file, version, base, problems } = at;
  const source = parseYaml(text, file);
  problems.push(...source.problems);
  if (source.problems.length > 0) return [];
  const shape = tasksFileSchema.extend({ tasks: z.array(z.unknown()) }).safeParse(source.value ?? {});
  if (!shape.success) {
    problems.push(...schemaProblems(shape.error, source, file));
    return [];
  }
  // Each task on its own, so one bad task does not hide the problems of the others.
  const out: Declared[] = [];
  shape.data.tasks.forEach((raw, index) => {
    const result = taskSchema.safeParse(raw);
    if (!result.success) {
      const prefixed = new z.ZodError(
        result.error.issues.map((i) => ({ ...i, path: ['tasks', index, ...i.path] })),
      );
      problems.push(...schemaProblems(prefixed, source, file));
      return;
    }
    const input = result.data;
    out.push({
      input,
      version,
      base,
      source: { file, line: source.locate(['tasks', index]).line },
      lineOf: (field) => source.locate(['tasks', index, field]).line,
      ...(input.kind === 'sql' || input.kind === 'clickhouse'
        ? { type: 'sql' as const }
        : input.kind === 'tool'
          ? { type: 'tool' as const }
          : {}),
    });
  });
  return out;
}
