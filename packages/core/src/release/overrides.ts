import type { Declared } from './declared.js';
import { parseOrchestration } from './properties.js';
import { TASK_STAGE_NAMES } from './schema.js';
import type { ReleaseProblem, SourceLocation } from './types.js';
import type { OrchestrationFile } from './versions.js';

export interface StageOverride {
  readonly stage: string;
  readonly source: SourceLocation;
}

/** The key of a task within its release: its version and id. */
export const identityOf = (version: string, id: string) => `${version}\u0000${id}`;

/** Orchestration overrides: stage changes by task id (or the seed's uid), keyed by {@link identityOf}. */
export function stageOverrides(
  orchestration: readonly OrchestrationFile[],
  declared: readonly Declared[],
  problems: ReleaseProblem[],
): Map<string, StageOverride> {
  const overrides = new Map<string, StageOverride>();
  for (const file of orchestration) {
    const parsed = parseOrchestration(file.text, file.file);
    problems.push(...parsed.problems);
    for (const o of parsed.overrides) {
      const target = declared.find(
        (d) => d.version === file.version && d.type === o.type && (d.input.id === o.id || d.uid === o.id),
      );
      const refuse = (message: string) =>
        problems.push({ file: file.file, line: o.line, field: `${o.type}.${o.id}.stage`, message });
      if (!target) {
        refuse(`no ${o.type} task "${o.id}" in version ${file.version}`);
        continue;
      }
      if (!(TASK_STAGE_NAMES as readonly string[]).includes(o.stage)) {
        refuse(`unknown stage "${o.stage}"; use ${TASK_STAGE_NAMES.join(', ')}`);
        continue;
      }
      overrides.set(identityOf(file.version, target.input.id), {
        stage: o.stage,
        source: { file: file.file, line: o.line },
      });
    }
  }
  return overrides;
}
