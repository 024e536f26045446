import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import { defaultVersionScheme } from './default-scheme.js';
import type { Version } from './types.js';

/**
 * What one source version may be upgraded to (seed 004 §4.7.1.1). Each `direct` and `progressive`
 * entry is one hop — one upgrade run with its own verification and rollback point:
 * `direct` hops jump over intermediate versions, `progressive` hops are ordinary steps.
 * `supportedTargets`, when given, is the vendor's list of everything this source may end up on by
 * any path; a target missing from it is refused even if hops would reach it.
 */
export interface MatrixEntry {
  readonly supportedTargets?: readonly string[];
  readonly direct?: readonly string[];
  readonly progressive?: readonly string[];
  /** Expected time of the hop to each target, in ms: the tie-breaker between equally short paths. */
  readonly estimates?: Readonly<Record<string, number>>;
}

/** Source version → what it may be upgraded to. Keys and targets in any accepted spelling (`V1.0.0`). */
export type CompatibilityMatrix = Readonly<Record<string, MatrixEntry>>;

/** `jump`: a direct hop over intermediate versions; `progressive`: a step to a neighbouring version. */
export type HopMode = 'jump' | 'progressive';

export interface PathHop {
  readonly from: string;
  readonly to: string;
  readonly mode: HopMode;
  readonly estimateMs?: number;
}

/**
 * The chosen route. `mode` follows seed 004 §4.7.1.1: `jump` (one direct hop), `progressive`
 * (only progressive hops), `combined` (both kinds).
 */
export interface UpgradePath {
  readonly from: string;
  readonly to: string;
  readonly mode: 'jump' | 'progressive' | 'combined';
  readonly hops: readonly PathHop[];
  /** Sum of the hop estimates, when every hop has one. */
  readonly estimateMs?: number;
}

export interface PlanPathOptions {
  /** Estimated time of a hop in ms, when the matrix has none; used to break ties. */
  readonly estimate?: (from: string, to: string) => number | undefined;
}

/** One problem found in a matrix: which entry, which field, what. */
export interface MatrixProblem {
  readonly source: string;
  readonly field?: string;
  readonly message: string;
}

interface Edge {
  readonly to: string;
  readonly mode: HopMode;
  readonly estimateMs?: number;
}

interface Graph {
  /** Canonical versions, ascending. */
  readonly order: readonly string[];
  readonly parsed: ReadonlyMap<string, Version>;
  readonly edges: ReadonlyMap<string, readonly Edge[]>;
  readonly supported: ReadonlyMap<string, ReadonlySet<string>>;
}

// The seed writes the matrix in snake_case under `version_compatibility`; both spellings load.
const ALIASES: Record<string, keyof MatrixEntry> = {
  supported_targets: 'supportedTargets',
  direct_upgrade: 'direct',
  progressive_upgrade: 'progressive',
};

function entriesOf(matrix: unknown): [string, Record<string, unknown>][] {
  const root =
    matrix && typeof matrix === 'object' && 'version_compatibility' in matrix
      ? (matrix as { version_compatibility: unknown }).version_compatibility
      : matrix;
  if (!root || typeof root !== 'object' || Array.isArray(root)) {
    throw new UpgradeKitError(
      ErrorCodes.BAD_INPUT,
      'planPath: the compatibility matrix must be an object of source version → { direct, progressive, supportedTargets }',
      { context: { got: Array.isArray(root) ? 'array' : typeof root } },
    );
  }
  return Object.entries(root as Record<string, unknown>).map(([k, v]) => {
    const entry: Record<string, unknown> = {};
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      for (const [field, value] of Object.entries(v)) entry[ALIASES[field] ?? field] = value;
    }
    return [k, entry];
  });
}

/**
 * Checks a matrix and builds its graph; problems are returned, not thrown, so a release loader
 * can report them beside its own. Hops must go up: a cycle means some hop goes down, and that is
 * what gets named.
 */
export function checkMatrix(matrix: unknown): { graph?: Graph; problems: MatrixProblem[] } {
  const problems: MatrixProblem[] = [];
  const parsed = new Map<string, Version>();
  // Each version appears as a key and as several targets: parse each spelling once.
  const seen = new Map<string, string>();
  const parse = (text: unknown, source: string, field?: string): string | undefined => {
    const known = seen.get(String(text));
    if (known) return known;
    try {
      const v = defaultVersionScheme.parse(String(text));
      parsed.set(v.canonical, v);
      seen.set(String(text), v.canonical);
      return v.canonical;
    } catch {
      problems.push({ source, ...(field ? { field } : {}), message: `"${String(text)}" is not a version` });
      return undefined;
    }
  };
  const edges = new Map<string, Edge[]>();
  const supported = new Map<string, Set<string>>();
  for (const [key, entry] of entriesOf(matrix)) {
    const source = parse(key, key);
    if (!source) continue;
    for (const field of Object.keys(entry)) {
      if (!['supportedTargets', 'direct', 'progressive', 'estimates'].includes(field))
        problems.push({
          source: key,
          field,
          message: 'unknown field; use supportedTargets, direct, progressive, estimates',
        });
    }
    const list = (field: 'supportedTargets' | 'direct' | 'progressive'): string[] => {
      const value = entry[field];
      if (value === undefined) return [];
      if (!Array.isArray(value)) {
        problems.push({ source: key, field, message: 'must be a list of versions' });
        return [];
      }
      return value.flatMap((v) => parse(v, key, field) ?? []);
    };
    const estimates = new Map<string, number>();
    const rawEstimates = entry.estimates;
    if (rawEstimates !== undefined) {
      if (!rawEstimates || typeof rawEstimates !== 'object') {
        problems.push({ source: key, field: 'estimates', message: 'must map target versions to durations' });
      } else {
        for (const [target, ms] of Object.entries(rawEstimates)) {
          const canonical = parse(target, key, 'estimates');
          if (!canonical) continue;
          if (typeof ms !== 'number' || !(ms >= 0))
            problems.push({
              source: key,
              field: `estimates.${target}`,
              message: 'must be a non-negative number of milliseconds',
            });
          else estimates.set(canonical, ms);
        }
      }
    }
    const out = edges.get(source) ?? [];
    const add = (to: string, mode: HopMode, field: string) => {
      if (defaultVersionScheme.compare(parsed.get(to)!, parsed.get(source)!) <= 0) {
        problems.push({
          source: key,
          field,
          message: `${key} → ${to} does not go up: a hop must lead to a newer version (going back is a rollback)`,
        });
        return;
      }
      const existing = out.findIndex((e) => e.to === to);
      const estimateMs = estimates.get(to);
      const edge: Edge = { to, mode, ...(estimateMs === undefined ? {} : { estimateMs }) };
      // Listed as both: it can be done directly, which is the better hop.
      if (existing === -1) out.push(edge);
      else if (mode === 'jump') out[existing] = edge;
    };
    for (const to of list('direct')) add(to, 'jump', 'direct');
    for (const to of list('progressive')) add(to, 'progressive', 'progressive');
    edges.set(source, out);
    const targets = list('supportedTargets');
    if (entry.supportedTargets !== undefined) supported.set(source, new Set(targets));
  }
  if (problems.length > 0) return { problems };
  const order = [...parsed.keys()].sort((a, b) =>
    defaultVersionScheme.compare(parsed.get(a)!, parsed.get(b)!),
  );
  return { graph: { order, parsed, edges, supported }, problems };
}

const graphs = new WeakMap<object, Graph>();

function graphOf(matrix: CompatibilityMatrix): Graph {
  const cached = typeof matrix === 'object' && matrix !== null ? graphs.get(matrix) : undefined;
  if (cached) return cached;
  const { graph, problems } = checkMatrix(matrix);
  if (!graph) {
    throw new UpgradeKitError(
      ErrorCodes.BAD_INPUT,
      `Invalid compatibility matrix — ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${problems
        .map((p) => `  ${p.source}${p.field ? ` ${p.field}` : ''}: ${p.message}`)
        .join('\n')}`,
      { context: { problems } },
    );
  }
  graphs.set(matrix, graph);
  return graph;
}

/** Everything reachable from `from` by any number of hops, ascending. */
function reachableFrom(graph: Graph, from: string): string[] {
  const seen = new Set<string>();
  const queue = [from];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const e of graph.edges.get(v) ?? []) {
      if (!seen.has(e.to)) {
        seen.add(e.to);
        queue.push(e.to);
      }
    }
  }
  return graph.order.filter((v) => seen.has(v));
}

interface Best {
  readonly hops: number;
  readonly ms: number;
  readonly path: readonly PathHop[];
}

function better(a: Best, b: Best, graph: Graph): boolean {
  if (a.hops !== b.hops) return a.hops < b.hops;
  if (a.ms !== b.ms) return a.ms < b.ms;
  // Still tied: the route through newer intermediate versions, which carry more fixes.
  for (let i = 0; i < a.path.length; i++) {
    const c = defaultVersionScheme.compare(
      graph.parsed.get(a.path[i]!.to)!,
      graph.parsed.get(b.path[i]!.to)!,
    );
    if (c !== 0) return c > 0;
  }
  return false;
}

function noPath(from: string, to: string, reachable: readonly string[], why: string): UpgradeKitError {
  return new UpgradeKitError(
    ErrorCodes.NO_UPGRADE_PATH,
    `No upgrade path from ${from} to ${to}: ${why}. ${
      reachable.length > 0
        ? `From ${from} the matrix reaches: ${reachable.join(', ')}.`
        : `The matrix allows no upgrade from ${from}.`
    }`,
    { context: { from, to, reachable } },
  );
}

/**
 * The route from `from` to `to` through a compatibility matrix (seed 004 §4.7.1.2): one jump
 * when `to` is a direct target of `from`, otherwise the shortest progressive path — fewest hops,
 * then least estimated time, then through the newer intermediate versions. No route: an
 * `UPGRADEKIT_NO_UPGRADE_PATH` error listing the versions `from` can reach.
 *
 * @example
 * const matrix = {
 *   '1.0.0': { direct: ['2.2.0'], progressive: ['2.0.0'] },
 *   '2.0.0': { direct: ['2.1.0'] },
 * };
 * planPath(matrix, '1.0.0', '2.2.0').mode // 'jump'
 * planPath(matrix, '1.0.0', '2.1.0').hops.map((h) => h.to) // ['2.0.0', '2.1.0']
 */
export function planPath(
  matrix: CompatibilityMatrix,
  from: string,
  to: string,
  options: PlanPathOptions = {},
): UpgradePath {
  const graph = graphOf(matrix);
  const source = defaultVersionScheme.parse(from);
  const target = defaultVersionScheme.parse(to);
  if (defaultVersionScheme.compare(source, target) >= 0) {
    throw new UpgradeKitError(
      ErrorCodes.BAD_INPUT,
      `planPath: the target ${target.canonical} is not above ${source.canonical}; to go back, roll back instead`,
      { context: { from: source.canonical, to: target.canonical } },
    );
  }
  const start = source.canonical;
  const goal = target.canonical;
  if (!graph.edges.has(start)) {
    throw noPath(
      start,
      goal,
      [],
      `the matrix has no entry for ${start} (it lists upgrades from ${[...graph.edges.keys()].join(', ') || 'nothing'})`,
    );
  }
  const supported = graph.supported.get(start);
  if (supported && !supported.has(goal)) {
    throw noPath(
      start,
      goal,
      reachableFrom(graph, start).filter((v) => supported.has(v)),
      `${goal} is not among the supported targets of ${start}`,
    );
  }
  const estimate = (a: string, e: Edge) => e.estimateMs ?? options.estimate?.(a, e.to);
  const direct = graph.edges.get(start)!.find((e) => e.to === goal && e.mode === 'jump');
  if (direct) {
    const ms = estimate(start, direct);
    const hop: PathHop = {
      from: start,
      to: goal,
      mode: 'jump',
      ...(ms === undefined ? {} : { estimateMs: ms }),
    };
    return Object.freeze({
      from: start,
      to: goal,
      mode: 'jump',
      hops: [hop],
      ...(ms === undefined ? {} : { estimateMs: ms }),
    });
  }
  // Hops only go up, so visiting versions in ascending order settles each before it is used.
  const best = new Map<string, Best>([[start, { hops: 0, ms: 0, path: [] }]]);
  const lo = graph.order.indexOf(start);
  const hi = graph.order.indexOf(goal);
  if (hi !== -1) {
    for (let i = lo; i < hi; i++) {
      const at = graph.order[i]!;
      const here = best.get(at);
      if (!here) continue;
      for (const edge of graph.edges.get(at) ?? []) {
        if (defaultVersionScheme.compare(graph.parsed.get(edge.to)!, target) > 0) continue;
        const ms = estimate(at, edge);
        const hop: PathHop = {
          from: at,
          to: edge.to,
          mode: edge.mode,
          ...(ms === undefined ? {} : { estimateMs: ms }),
        };
        const candidate: Best = { hops: here.hops + 1, ms: here.ms + (ms ?? 0), path: [...here.path, hop] };
        const current = best.get(edge.to);
        if (!current || better(candidate, current, graph)) best.set(edge.to, candidate);
      }
    }
  }
  const found = best.get(goal);
  if (!found || found.hops === 0) {
    throw noPath(start, goal, reachableFrom(graph, start), 'no chain of hops leads there');
  }
  const known = found.path.every((h) => h.estimateMs !== undefined);
  // Several jumps chained are a combination of version segments too (seed: 组合升级).
  const allProgressive = found.path.every((h) => h.mode === 'progressive');
  const mode = found.path.length === 1 ? found.path[0]!.mode : allProgressive ? 'progressive' : 'combined';
  return Object.freeze({
    from: start,
    to: goal,
    mode,
    hops: found.path,
    ...(known ? { estimateMs: found.ms } : {}),
  });
}
