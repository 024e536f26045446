import { existsSync, lstatSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseVersion } from '../version/index.js';
import { type Declared, type DeclaredIn, fromYaml } from './declared.js';
import { fromProperties } from './declared-properties.js';
import { insideRoot, readInsideRoot } from './paths.js';
import type { ReleaseProblem } from './types.js';

const TASKS_PROPERTIES = /^upgrade_tasks_(.+)\.properties$/;
const ORCHESTRATION_PROPERTIES = /^upgrade_orchestration_(.+)\.properties$/;
/** A name that was meant to be one of the two above: refused, never silently ignored. */
const LOOKS_LIKE_SEED_FILE = /^upgrade[\W_]*(tasks?|orchestrations?)(?![a-z]).*\.properties$/i;

/** A seed orchestration file: stage changes for the tasks of its version. */
export interface OrchestrationFile {
  readonly file: string;
  readonly version: string;
  readonly text: string;
}

export interface Versions {
  /** Every task declared, in the order found. */
  readonly declared: Declared[];
  readonly orchestration: OrchestrationFile[];
  /** Every version named by a directory or a file, canonical. */
  readonly named: Set<string>;
}

/** A dangling link is no file, but it is still a mistake to report. */
function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/**
 * The tasks of every version: directories under versions/ (with their tasks.yaml), and seed
 * .properties files at the root or inside them.
 */
export function scanVersions(root: string, problems: ReleaseProblem[]): Versions {
  const rel = (p: string) => relative(root, p) || '.';
  const declared: Declared[] = [];
  const orchestration: OrchestrationFile[] = [];
  const named = new Set<string>();
  const at = (file: string, version: string, base: string): DeclaredIn => ({ file, version, base, problems });
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
      else declared.push(...fromProperties(text, at(file, version, folder)));
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
        else declared.push(...fromYaml(read.data.toString('utf8'), at(rel(tasksFile), version, folder)));
      }
      scanProperties(folder, version);
    }
  }
  return { declared, orchestration, named };
}
