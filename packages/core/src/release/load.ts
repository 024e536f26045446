import { existsSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import { anObject, checkArguments } from '../options/index.js';
import { compareVersions } from '../version/index.js';
import { toMilliseconds } from './duration.js';
import { assessmentFields } from './extras.js';
import { identityOf, stageOverrides } from './overrides.js';
import { readInsideRoot } from './paths.js';
import { manifestSchema } from './schema.js';
import { problemAt, resolveTask } from './task.js';
import type { Datasource, Release, ReleaseProblem, SourceLocation, Task } from './types.js';
import { scanVersions } from './versions.js';
import { parseYaml, schemaProblems } from './yaml-source.js';

const MANIFEST = 'upgradekit.yaml';

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
  checkArguments(
    'loadRelease',
    { dir: z.string('must be the release directory (the one with upgradekit.yaml)') },
    { dir },
  );
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

  const { declared, orchestration, named } = scanVersions(root, problems);
  const overrides = stageOverrides(orchestration, declared, problems);

  // Each task: unique id per version, then checked on its own (see resolveTask).
  const seen = new Map<string, SourceLocation>();
  const tasks: Task[] = [];
  for (const d of declared) {
    const identity = identityOf(d.version, d.input.id);
    const first = seen.get(identity);
    if (first) {
      problemAt(d, problems)(
        'id',
        `duplicate task id "${d.input.id}" in version ${d.version} (first declared at ${first.file}:${first.line})`,
      );
      continue;
    }
    seen.set(identity, d.source);
    tasks.push(resolveTask(d, { root, manifest, problems }, overrides.get(identity)));
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
