import type { z } from 'zod';
import type { CompatibilityMatrix, MatrixEntry } from '../version/index.js';
import { satisfies } from '../version/index.js';
import { checkMatrix } from '../version/internal.js';
import { toMilliseconds } from './duration.js';
import type { manifestSchema } from './schema.js';
import type { QualityCheck, ReleaseProblem } from './types.js';
import type { YamlSource } from './yaml-source.js';

type Manifest = z.output<typeof manifestSchema>;

/**
 * The assessment's parts of `upgradekit.yaml` — data-quality checks and the upgrade-path matrix —
 * checked beyond their shape: known datasources, valid ranges and versions, unique ids, hops that
 * go up. Problems carry file, line and field like every other release problem.
 */
export function assessmentFields(
  manifest: Manifest,
  source: YamlSource,
  file: string,
): { dataQuality?: QualityCheck[]; compatibility?: CompatibilityMatrix; problems: ReleaseProblem[] } {
  const problems: ReleaseProblem[] = [];
  const at = (path: (string | number)[], field: string, message: string) =>
    problems.push({ file, line: source.locate(path).line, field, message });

  let dataQuality: QualityCheck[] | undefined;
  if (manifest.dataQuality) {
    dataQuality = [];
    const seen = new Set<string>();
    manifest.dataQuality.forEach((check, i) => {
      const path = ['dataQuality', i];
      const field = (name: string) => `dataQuality[${i}].${name}`;
      if (seen.has(check.id)) at([...path, 'id'], field('id'), `duplicate check id "${check.id}"`);
      seen.add(check.id);
      const datasource = check.datasource ?? manifest.defaults.datasource;
      if (!datasource) {
        at(
          path,
          field('datasource'),
          'no datasource: set `datasource` on the check or `defaults.datasource`',
        );
      } else if (!manifest.datasources[datasource]) {
        at(
          [...path, 'datasource'],
          field('datasource'),
          `unknown datasource "${datasource}"; upgradekit.yaml declares: ${Object.keys(manifest.datasources).join(', ') || 'none'}`,
        );
      }
      if (check.versions !== undefined) {
        try {
          satisfies('0.0.0', check.versions);
        } catch (error) {
          at([...path, 'versions'], field('versions'), (error as Error).message);
        }
      }
      const timeoutMs = toMilliseconds(check.timeout);
      dataQuality!.push({
        id: check.id,
        ...(check.description ? { description: check.description } : {}),
        datasource: datasource ?? '',
        sql: check.sql,
        threshold: check.threshold ?? 0,
        severity: check.severity ?? 'error',
        ...(check.versions ? { versions: check.versions } : {}),
        ...(check.fix ? { fix: check.fix } : {}),
        ...(timeoutMs ? { timeoutMs } : {}),
        source: { file, line: source.locate(path).line },
      });
    });
  }

  let compatibility: CompatibilityMatrix | undefined;
  if (manifest.compatibility) {
    const raw: Record<string, MatrixEntry> = {};
    for (const [version, entry] of Object.entries(manifest.compatibility)) {
      raw[version] = {
        ...(entry.supportedTargets ? { supportedTargets: entry.supportedTargets } : {}),
        ...(entry.direct ? { direct: entry.direct } : {}),
        ...(entry.progressive ? { progressive: entry.progressive } : {}),
        ...(entry.estimates
          ? {
              estimates: Object.fromEntries(
                Object.entries(entry.estimates).map(([k, v]) => [k, toMilliseconds(v) ?? 0]),
              ),
            }
          : {}),
      };
    }
    const checked = checkMatrix(raw);
    for (const p of checked.problems) {
      const path = ['compatibility', p.source, ...(p.field ? p.field.split('.') : [])];
      at(path, `compatibility.${p.source}${p.field ? `.${p.field}` : ''}`, p.message);
    }
    if (checked.problems.length === 0) compatibility = Object.freeze(raw);
  }
  return {
    ...(dataQuality ? { dataQuality } : {}),
    ...(compatibility ? { compatibility } : {}),
    problems,
  };
}
