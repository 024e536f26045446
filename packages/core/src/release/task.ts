import { createHash } from 'node:crypto';
import { relative } from 'node:path';
import type { z } from 'zod';
import { parseVersion } from '../version/index.js';
import type { Declared } from './declared.js';
import { toMilliseconds } from './duration.js';
import type { StageOverride } from './overrides.js';
import { readInsideRoot } from './paths.js';
import type { manifestSchema, TaskInput } from './schema.js';
import { toBytes } from './size.js';
import type { ReleaseProblem, Task, TaskStage } from './types.js';

type Manifest = z.output<typeof manifestSchema>;

/** What a declared task is checked against: the release, its manifest and the stage overrides. */
export interface TaskContext {
  readonly root: string;
  /** Undefined when the manifest itself is invalid: the tasks are still checked for their own problems. */
  readonly manifest: Manifest | undefined;
  readonly problems: ReleaseProblem[];
}

const PROPERTY_FIELD: Record<string, string> = { compatibleFrom: 'compatible_version' };

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Reports a problem with a field of a declared task, at the field's line, named as its file names
 * it (`sql.<uid>.compatible_version` in the seed's .properties, `compatibleFrom` in tasks.yaml).
 */
export function problemAt(d: Declared, problems: ReleaseProblem[]): (field: string, message: string) => void {
  return (field, message) => {
    const name = d.uid ? (PROPERTY_FIELD[field] ?? field) : field;
    const label = d.uid ? `${d.type}.${d.uid}.${name}` : field;
    problems.push({ file: d.source.file, line: d.lineOf(name), field: label, message });
  };
}

/**
 * A declared task as the runner takes it: paths inside the release, datasource known, checksum of
 * what it runs, `defaults` applied. Problems are added to `ctx.problems` (the task is still
 * returned, so that every problem of a release is found in one pass).
 */
export function resolveTask(d: Declared, ctx: TaskContext, override: StageOverride | undefined): Task {
  const { root, manifest, problems } = ctx;
  const at = problemAt(d, problems);
  const input = manifest ? seedKind(d, manifest) : d.input;
  let file: string | undefined;
  let pkg: string | undefined;
  let checksum = '';
  if (input.kind === 'sql' || input.kind === 'clickhouse') {
    if (!input.file) {
      const base = d.base === root ? 'the release directory' : relative(root, d.base) || '.';
      at('file', `a ${input.kind} task needs \`file\`: the statements file, relative to ${base}`);
    } else {
      const read = readInsideRoot(root, d.base, input.file);
      if ('problem' in read) at('file', read.problem);
      else {
        file = read.path;
        checksum = sha256(read.data);
      }
    }
    const name = input.datasource ?? manifest?.defaults.datasource;
    const ds = name ? manifest?.datasources[name] : undefined;
    if (!name)
      at(
        'datasource',
        'no datasource: set `datasource` on the task or `defaults.datasource` in upgradekit.yaml',
      );
    else if (manifest && !ds)
      at(
        'datasource',
        `unknown datasource "${name}"; upgradekit.yaml declares: ${Object.keys(manifest.datasources).join(', ') || 'none'}`,
      );
    else if (ds && (ds.type === 'clickhouse') !== (input.kind === 'clickhouse')) {
      at('datasource', `a ${input.kind} task cannot run on ${ds.type} datasource "${name}"`);
    }
  } else if (input.kind === 'tool') {
    if (!input.package)
      at('package', 'a tool task needs `package`: a module path in the release or a package name');
    else if (
      input.package.startsWith('.') ||
      (input.package.includes('/') && !input.package.startsWith('@'))
    ) {
      const read = readInsideRoot(root, d.base, input.package);
      if ('problem' in read) at('package', read.problem);
      else {
        pkg = read.path;
        checksum = sha256(read.data);
      }
    } else {
      pkg = input.package;
      checksum = sha256(`package:${input.package}`);
    }
  } else if (input.kind === 'command') {
    if (!input.command)
      at('command', 'a command task needs `command`: the program and its arguments as a list');
    else checksum = sha256(JSON.stringify(input.command));
  }
  let compatibleFrom: string | undefined;
  if (input.compatibleFrom !== undefined) {
    try {
      compatibleFrom = parseVersion(input.compatibleFrom).canonical;
    } catch {
      at('compatibleFrom', `"${input.compatibleFrom}" is not a version`);
    }
  }
  // `defaults` in upgradekit.yaml apply to every task that does not set its own.
  const timeoutMs = toMilliseconds(input.timeout ?? manifest?.defaults.timeout);
  const stopGraceMs = toMilliseconds(input.stopGrace ?? manifest?.defaults.stopGrace);
  const retry =
    input.retry || manifest?.defaults.retry ? { ...manifest?.defaults.retry, ...input.retry } : undefined;
  const criticality = input.criticality ?? manifest?.defaults.criticality;
  const durationMs = toMilliseconds(input.estimate?.duration);
  const datasource =
    input.datasource ??
    (input.kind === 'sql' || input.kind === 'clickhouse' ? manifest?.defaults.datasource : undefined);
  return {
    id: input.id,
    version: d.version,
    kind: input.kind,
    stage: (override?.stage ?? input.stage) as TaskStage,
    ...(input.description ? { description: input.description } : {}),
    ...(file ? { file } : {}),
    ...(pkg ? { package: pkg } : {}),
    ...(input.command ? { command: input.command } : {}),
    ...(datasource ? { datasource } : {}),
    ...(compatibleFrom ? { compatibleFrom } : {}),
    ...(input.additive !== undefined ? { additive: input.additive } : {}),
    ...(input.sites ? { sites: input.sites } : {}),
    ...(timeoutMs ? { timeoutMs } : {}),
    ...(stopGraceMs !== undefined ? { stopGraceMs } : {}),
    ...(retry
      ? {
          retry: {
            ...(retry.attempts ? { attempts: retry.attempts } : {}),
            ...(retry.minDelay ? { minDelayMs: toMilliseconds(retry.minDelay) } : {}),
            ...(retry.maxDelay ? { maxDelayMs: toMilliseconds(retry.maxDelay) } : {}),
            ...(retry.scope ? { scope: retry.scope } : {}),
          },
        }
      : {}),
    ...(criticality ? { criticality } : {}),
    ...(input.idempotent !== undefined ? { idempotent: input.idempotent } : {}),
    ...(input.transaction !== undefined ? { transaction: input.transaction } : {}),
    ...(input.placeholdersInStrings !== undefined
      ? { placeholdersInStrings: input.placeholdersInStrings }
      : {}),
    ...(input.check ? { check: input.check } : {}),
    ...(input.estimate
      ? {
          estimate: {
            ...(input.estimate.rows !== undefined ? { rows: input.estimate.rows } : {}),
            ...(input.estimate.bytes !== undefined ? { bytes: input.estimate.bytes } : {}),
            ...(input.estimate.rate !== undefined ? { rate: input.estimate.rate } : {}),
            ...(durationMs !== undefined ? { durationMs } : {}),
            ...(input.estimate.unit ? { unit: input.estimate.unit } : {}),
            ...(input.estimate.query ? { query: input.estimate.query } : {}),
            ...(input.estimate.parallel !== undefined ? { parallel: input.estimate.parallel } : {}),
          },
        }
      : {}),
    ...(input.resources
      ? {
          resources: {
            ...(input.resources.disk !== undefined ? { diskBytes: toBytes(input.resources.disk) } : {}),
            ...(input.resources.memory !== undefined ? { memoryBytes: toBytes(input.resources.memory) } : {}),
          },
        }
      : {}),
    checksum,
    source: d.source,
    ...(override ? { stageOverride: override.source } : {}),
  };
}

/**
 * The seed's format has only `sql.{uid}.*` for statements and runs each on its datasource, whatever
 * the engine; so a seed SQL task whose datasource (its own or the default) is ClickHouse is a
 * `clickhouse` task. tasks.yaml says the kind explicitly and keeps the mismatch check.
 */
function seedKind(d: Declared, manifest: Manifest): TaskInput {
  if (!d.uid || d.input.kind !== 'sql') return d.input;
  const name = d.input.datasource ?? manifest.defaults.datasource;
  const type = name === undefined ? undefined : manifest.datasources[name]?.type;
  return type === 'clickhouse' ? { ...d.input, kind: 'clickhouse' } : d.input;
}
