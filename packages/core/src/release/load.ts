import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { z } from 'zod';
import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import { compareVersions, parseVersion } from '../version/index.js';
import { toMilliseconds } from './duration.js';
import { assessmentFields } from './extras.js';
import { insideRoot, readInsideRoot } from './paths.js';
import { parseOrchestration, parseTaskProperties } from './properties.js';
import { manifestSchema, TASK_STAGE_NAMES, type TaskInput, taskSchema, tasksFileSchema } from './schema.js';
import { toBytes } from './size.js';
import type { Datasource, Release, ReleaseProblem, SourceLocation, Task, TaskStage } from './types.js';
import { parseYaml, schemaProblems } from './yaml-source.js';

const MANIFEST = 'upgradekit.yaml';
const TASKS_PROPERTIES = /^upgrade_tasks_(.+)\.properties$/;
const ORCHESTRATION_PROPERTIES = /^upgrade_orchestration_(.+)\.properties$/;
/** A name that was meant to be one of the two above: refused, never silently ignored. */
const LOOKS_LIKE_SEED_FILE = /^upgrade[\W_]*(tasks?|orchestrations?)(?![a-z]).*\.properties$/i;

/** A task before its paths are checked: from YAML or from the seed's .properties. */
interface Declared {
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

const PROPERTY_FIELD: Record<string, string> = { compatibleFrom: 'compatible_version' };

/** A dangling link is no file, but it is still a mistake to report. */
function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function formatProblems(dir: string, problems: readonly ReleaseProblem[]): string {
  const lines = problems.map(
    (p) =>
      `  ${p.file}${p.line ? `:${p.line}${p.column ? `:${p.column}` : ''}` : ''}${p.field ? ` ${p.field}` : ''}: ${p.message}`,
  );
  return `Invalid release ${dir} — ${problems.length} problem${problems.length === 1 ? '' : 's'}, nothing was run:\n${lines.join('\n')}`;
}

/**
 * Loads an upgrade package from disk: `upgradekit.yaml`, then per version either
 * `versions/<v>/tasks.yaml` or the seed's `upgrade_tasks_V<v>.properties` (with
 * `upgrade_orchestration_V<v>.properties` overriding stages), or both. Every problem is collected
 * and reported at once — file, line, field, what to do — before anything can run.
 *
 * @example
 * const release = await loadRelease('./releases/dr-platform');
 * release.tasks.map((t) => `${t.version} ${t.stage} ${t.id}`);
 */
export async function loadRelease(dir: string): Promise<Release> {
  let root: string;
  try {
    root = realpathSync(dir);
    if (!statSync(root).isDirectory()) throw new Error('not a directory');
  } catch {
    throw new UpgradeKitError(
      ErrorCodes.BAD_INPUT,
      `Release directory ${JSON.stringify(dir)} does not exist or is not a directory.`,
      {
        context: { dir },
      },
    );
  }
  const problems: ReleaseProblem[] = [];
  const rel = (p: string) => relative(root, p) || '.';

  // The manifest.
  const manifestPath = join(root, MANIFEST);
  if (!existsSync(manifestPath)) {
    throw new UpgradeKitError(
      ErrorCodes.BAD_INPUT,
      formatProblems(dir, [
        {
          file: MANIFEST,
          message: `missing: every release needs an ${MANIFEST} naming its component (see docs/release.md)`,
        },
      ]),
      { context: { dir } },
    );
  }
  const manifestFile = readInsideRoot(root, root, MANIFEST);
  if ('problem' in manifestFile)
    throw new UpgradeKitError(
      ErrorCodes.BAD_INPUT,
      formatProblems(dir, [{ file: MANIFEST, message: manifestFile.problem }]),
      { context: { dir } },
    );
  const manifestSource = parseYaml(manifestFile.data.toString('utf8'), MANIFEST);
  problems.push(...manifestSource.problems);
  const manifestResult =
    manifestSource.problems.length === 0 ? manifestSchema.safeParse(manifestSource.value ?? {}) : undefined;
  if (manifestResult && !manifestResult.success)
    problems.push(...schemaProblems(manifestResult.error, manifestSource, MANIFEST));
  const manifest = manifestResult?.success ? manifestResult.data : undefined;
  const extras = manifest ? assessmentFields(manifest, manifestSource, MANIFEST) : undefined;
  if (extras) problems.push(...extras.problems);

  // Versions: directories under versions/, and seed .properties files at the root or inside them.
  const declared: Declared[] = [];
  const orchestration: { file: string; version: string; text: string }[] = [];
  const named = new Set<string>();
  const versionOf = (label: string, file: string): string | undefined => {
    try {
      const canonical = parseVersion(label).canonical;
      named.add(canonical);
      return canonical;
    } catch (error) {
      const why = /: (.*?)\. Expected/.exec((error as Error).message)?.[1];
      problems.push({
        file,
        message: `"${label}" is not a version${why ? `: ${why}` : ''} (expected e.g. 2.16.7 or V2.16.7-P1)`,
      });
      return undefined;
    }
  };
  const scanProperties = (folder: string, fixedVersion?: string) => {
    for (const name of readdirSync(folder).sort()) {
      const tasksMatch = TASKS_PROPERTIES.exec(name);
      const orchMatch = ORCHESTRATION_PROPERTIES.exec(name);
      const match = tasksMatch ?? orchMatch;
      if (!match) {
        if (LOOKS_LIKE_SEED_FILE.test(name))
          problems.push({
            file: rel(join(folder, name)),
            message: `not a name upgradekit reads, so its tasks would be ignored: name it upgrade_tasks_V<version>.properties or upgrade_orchestration_V<version>.properties (e.g. upgrade_tasks_V${fixedVersion ?? '1.2.0'}.properties)`,
          });
        continue;
      }
      const file = rel(join(folder, name));
      const version = versionOf(match[1] ?? '', file);
      if (!version) continue;
      if (fixedVersion && version !== fixedVersion) {
        problems.push({
          file,
          message: `names version ${version} but sits in the directory of ${fixedVersion}`,
        });
        continue;
      }
      const read = readInsideRoot(root, folder, name);
      if ('problem' in read) {
        problems.push({ file, message: read.problem });
        continue;
      }
      const text = read.data.toString('latin1');
      if (orchMatch) orchestration.push({ file, version, text });
      else declared.push(...fromProperties(text, file, version, folder, problems));
    }
  };
  scanProperties(root);
  const versionsDir = join(root, 'versions');
  if (existsSync(versionsDir) && !statSync(versionsDir).isDirectory()) {
    problems.push({
      file: 'versions',
      message:
        'is a file: it must be a directory holding one directory per version (versions/1.2.0/tasks.yaml)',
    });
  } else if (existsSync(versionsDir)) {
    for (const name of readdirSync(versionsDir).sort()) {
      const inside = insideRoot(root, versionsDir, name);
      if ('problem' in inside) {
        problems.push({ file: rel(join(versionsDir, name)), message: inside.problem });
        continue;
      }
      const folder = join(versionsDir, name);
      if (!statSync(folder).isDirectory()) continue;
      const version = versionOf(name, rel(folder));
      if (!version) continue;
      const tasksFile = join(folder, 'tasks.yaml');
      if (existsSync(tasksFile) || isLink(tasksFile)) {
        const read = readInsideRoot(root, folder, 'tasks.yaml');
        if ('problem' in read) problems.push({ file: rel(tasksFile), message: read.problem });
        else
          declared.push(...fromYaml(read.data.toString('utf8'), rel(tasksFile), version, folder, problems));
      }
      scanProperties(folder, version);
    }
  }

  // Orchestration overrides: stage changes by task id (or the seed's uid).
  const overrides = new Map<string, { stage: string; source: SourceLocation }>();
  for (const file of orchestration) {
    const parsed = parseOrchestration(file.text, file.file);
    problems.push(...parsed.problems);
    for (const o of parsed.overrides) {
      const target = declared.find(
        (d) => d.version === file.version && d.type === o.type && (d.input.id === o.id || d.uid === o.id),
      );
      if (!target) {
        problems.push({
          file: file.file,
          line: o.line,
          field: `${o.type}.${o.id}.stage`,
          message: `no ${o.type} task "${o.id}" in version ${file.version}`,
        });
        continue;
      }
      if (!(TASK_STAGE_NAMES as readonly string[]).includes(o.stage)) {
        problems.push({
          file: file.file,
          line: o.line,
          field: `${o.type}.${o.id}.stage`,
          message: `unknown stage "${o.stage}"; use ${TASK_STAGE_NAMES.join(', ')}`,
        });
        continue;
      }
      overrides.set(`${file.version}\u0000${target.input.id}`, {
        stage: o.stage,
        source: { file: file.file, line: o.line },
      });
    }
  }

  // Each task: unique id per version, paths inside the release, datasource known, checksum.
  const seen = new Map<string, SourceLocation>();
  const tasks: Task[] = [];
  for (const d of declared) {
    const at = (field: string, message: string) => {
      const name = d.uid ? (PROPERTY_FIELD[field] ?? field) : field;
      const label = d.uid ? `${d.type}.${d.uid}.${name}` : field;
      return problems.push({ file: d.source.file, line: d.lineOf(name), field: label, message });
    };
    const identity = `${d.version}\u0000${d.input.id}`;
    const first = seen.get(identity);
    if (first) {
      at(
        'id',
        `duplicate task id "${d.input.id}" in version ${d.version} (first declared at ${first.file}:${first.line})`,
      );
      continue;
    }
    seen.set(identity, d.source);
    const input = manifest ? seedKind(d, manifest) : d.input;
    let file: string | undefined;
    let pkg: string | undefined;
    let checksum = '';
    if (input.kind === 'sql' || input.kind === 'clickhouse') {
      if (!input.file) {
        const base = d.base === root ? 'the release directory' : rel(d.base);
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
    const override = overrides.get(identity);
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
    tasks.push({
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
              ...(input.resources.memory !== undefined
                ? { memoryBytes: toBytes(input.resources.memory) }
                : {}),
            },
          }
        : {}),
      checksum,
      source: d.source,
      ...(override ? { stageOverride: override.source } : {}),
    });
  }

  if (problems.length > 0 || !manifest) {
    throw new UpgradeKitError(ErrorCodes.BAD_INPUT, formatProblems(dir, problems), {
      context: { dir: root, problems },
    });
  }
  // Version order, then declaration order (a stable sort keeps the latter).
  const ordered = [...tasks].sort((a, b) => compareVersions(a.version, b.version));
  return Object.freeze({
    dir: root,
    component: manifest.component,
    ...(manifest.description ? { description: manifest.description } : {}),
    datasources: manifest.datasources as Record<string, Datasource>,
    defaults: {
      ...(manifest.defaults.datasource ? { datasource: manifest.defaults.datasource } : {}),
      ...(manifest.defaults.timeout ? { timeoutMs: toMilliseconds(manifest.defaults.timeout) } : {}),
      ...(manifest.defaults.criticality ? { criticality: manifest.defaults.criticality } : {}),
      ...(manifest.defaults.retry?.attempts ? { retry: { attempts: manifest.defaults.retry.attempts } } : {}),
    },
    versions: [...new Set(ordered.map((t) => t.version))],
    ...(named.size > 0 ? { newest: [...named].sort(compareVersions).at(-1) } : {}),
    tasks: ordered,
    ...(extras?.dataQuality ? { dataQuality: extras.dataQuality } : {}),
    ...(extras?.compatibility ? { compatibility: extras.compatibility } : {}),
  });
}

/**
 * The seed's format has only `sql.{uid}.*` for statements and runs each on its datasource, whatever
 * the engine; so a seed SQL task whose datasource (its own or the default) is ClickHouse is a
 * `clickhouse` task. tasks.yaml says the kind explicitly and keeps the mismatch check.
 */
function seedKind(d: Declared, manifest: z.output<typeof manifestSchema>): TaskInput {
  if (!d.uid || d.input.kind !== 'sql') return d.input;
  const name = d.input.datasource ?? manifest.defaults.datasource;
  const type = name === undefined ? undefined : manifest.datasources[name]?.type;
  return type === 'clickhouse' ? { ...d.input, kind: 'clickhouse' } : d.input;
}

function fromYaml(
  text: string,
  file: string,
  version: string,
  base: string,
  problems: ReleaseProblem[],
): Declared[] {
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

const SQL_FIELDS = new Set([
  'id',
  'description',
  'file',
  'stage',
  'datasource',
  'compatible_version',
  'sites',
  'exclude_sites',
  'timeout',
  'idempotent',
  'check',
]);
const TOOL_FIELDS = new Set([
  'id',
  'description',
  'package',
  'stage',
  'compatible_version',
  'sites',
  'exclude_sites',
  'timeout',
  'idempotent',
]);

/** The seed's .properties tasks, mapped onto the same task model and checked with the same schema. */
function fromProperties(
  text: string,
  file: string,
  version: string,
  base: string,
  problems: ReleaseProblem[],
): Declared[] {
  const parsed = parseTaskProperties(text, file);
  problems.push(...parsed.problems);
  const out: Declared[] = [];
  for (const group of parsed.tasks) {
    const allowed = group.type === 'sql' ? SQL_FIELDS : TOOL_FIELDS;
    const get = (field: string) => group.fields.get(field)?.value;
    for (const [field, { line }] of group.fields) {
      if (!allowed.has(field)) {
        problems.push({
          file,
          line,
          field: `${group.type}.${group.uid}.${field}`,
          message: `unknown field; use ${[...allowed].join(', ')}`,
        });
      }
    }
    const list = (v: string | undefined) =>
      v
        ?.split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    const input: Record<string, unknown> = {
      id: get('id') ?? group.uid,
      kind: group.type,
      stage: get('stage'),
      ...(get('description') ? { description: get('description') } : {}),
      ...(group.type === 'sql' ? { file: get('file') } : { package: get('package') }),
      ...(get('datasource') ? { datasource: get('datasource') } : {}),
      ...(get('compatible_version') ? { compatibleFrom: get('compatible_version') } : {}),
      ...(get('sites') || get('exclude_sites')
        ? {
            sites: {
              ...(get('sites') ? { include: list(get('sites')) } : {}),
              ...(get('exclude_sites') ? { exclude: list(get('exclude_sites')) } : {}),
            },
          }
        : {}),
      ...(get('timeout')
        ? { timeout: /^\d+$/.test(get('timeout') ?? '') ? Number(get('timeout')) : get('timeout') }
        : {}),
      // Only `true` and `false`: `TRUE`, `yes` or `maybe` are refused by the schema, not read as false.
      ...(get('idempotent')
        ? {
            idempotent:
              get('idempotent') === 'true' ? true : get('idempotent') === 'false' ? false : get('idempotent'),
          }
        : {}),
      ...(get('check') ? { check: get('check') } : {}),
    };
    const result = taskSchema.safeParse(input);
    if (!result.success) {
      for (const issue of result.error.issues) {
        const field = String(issue.path[0] ?? '');
        const propertyField =
          field === 'compatibleFrom'
            ? 'compatible_version'
            : field === 'sites' && issue.path[1] === 'exclude'
              ? 'exclude_sites'
              : field;
        const line = group.fields.get(propertyField)?.line ?? group.line;
        const missing = input[field] === undefined;
        problems.push({
          file,
          line,
          field: `${group.type}.${group.uid}.${propertyField}`,
          message: missing
            ? `missing: add ${group.type}.${group.uid}.${propertyField}`
            : `${issue.message} (got ${JSON.stringify(input[field])})`,
        });
      }
      continue;
    }
    const lineOf = (field: string) => group.fields.get(field)?.line ?? group.line;
    out.push({
      input: result.data,
      version,
      base,
      source: { file, line: group.line },
      type: group.type,
      uid: group.uid,
      lineOf,
    });
  }
  return out;
}
