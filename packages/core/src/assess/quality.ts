import { isUpgradeKitError } from '../errors/index.js';
import { describeError } from '../errors/internal.js';
import type { QualityCheck } from '../release/index.js';
import { classifyError, retry } from '../resilience/index.js';
import { errorChain } from '../resilience/internal.js';
import { satisfies } from '../version/index.js';
import type { ResolvedAssessOptions } from './options.js';
import { firstNumber, isMissingDatabase, isQueryTimeout, queryRows } from './sql.js';
import { duration, sectionStatus } from './status.js';
import type { DataQualitySection, QualityResult } from './types.js';

/** Connection trouble — refused, reset, no pooled connection to be had — is worth another attempt. */
function isConnectionError(error: unknown): boolean {
  if (isMissingDatabase(error) || isQueryTimeout(error)) return false;
  if (errorChain(error).some((e) => e instanceof Error && /acquiring a connection/i.test(e.message)))
    return true;
  return classifyError(error).reason === 'network';
}

/** Runs `fn` over `items` with at most `limit` at a time, keeping order. */
async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

async function runCheck(
  check: QualityCheck,
  versions: readonly string[],
  o: ResolvedAssessOptions,
): Promise<QualityResult> {
  const base = {
    id: `quality.${check.id}`,
    title: check.description ?? check.id,
    datasource: check.datasource,
    severity: check.severity,
    threshold: check.threshold,
    ...(check.versions ? { versions: check.versions } : {}),
    ...(check.fix ? { fix: check.fix } : {}),
    origin: 'release',
  };
  const where = `${check.source.file}:${check.source.line}`;
  if (check.versions && !versions.some((v) => satisfies(v, check.versions!))) {
    return {
      ...base,
      status: 'skip',
      detail: `not applicable: the range ${check.versions} contains none of ${versions.join(', ')}`,
      attempts: 0,
      elapsedMs: 0,
    };
  }
  const connection = o.connections[check.datasource];
  if (!connection) {
    return {
      ...base,
      status: 'skip',
      detail: `datasource "${check.datasource}" has no connection at this site: the database is not there to check`,
      attempts: 0,
      elapsedMs: 0,
    };
  }
  const timeoutMs = check.timeoutMs ?? o.quality.timeoutMs;
  let attempts = 0;
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  // An outcome with no count to judge: timed like every result of a query that ran.
  const unjudged = (status: 'skip' | 'fail', detail: string, suggestion?: string): QualityResult => ({
    ...base,
    status,
    detail,
    ...(suggestion === undefined ? {} : { suggestion }),
    attempts,
    elapsedMs: elapsed(),
  });
  try {
    const rows = await retry(
      () => {
        attempts++;
        return queryRows(connection, check.sql, { timeoutMs, ...(o.signal ? { signal: o.signal } : {}) });
      },
      {
        attempts: o.quality.retries + 1,
        minDelayMs: o.quality.retryDelayMs,
        maxDelayMs: Math.max(o.quality.retryDelayMs, 10_000),
        step: `quality check ${check.id}`,
        classify: (error) =>
          isConnectionError(error)
            ? { decision: 'retry', reason: 'network' }
            : { decision: 'fail-now', reason: 'unknown' },
        ...(o.events ? { events: o.events } : {}),
        ...(o.signal ? { signal: o.signal } : {}),
      },
    );
    const offending = firstNumber(rows);
    if (offending === undefined) {
      return unjudged(
        'fail',
        `check ${check.id} returned ${rows.length === 0 ? 'no rows' : JSON.stringify(rows[0])}, not one number`,
        `Make the SQL of ${check.id} (${where}) return a single count, e.g. SELECT COUNT(*) FROM … WHERE …`,
      );
    }
    const ok = offending <= check.threshold;
    return {
      ...base,
      status: ok ? 'pass' : check.severity === 'error' ? 'fail' : 'warn',
      detail: `${offending} offending row${offending === 1 ? '' : 's'} (threshold ${check.threshold})`,
      offending,
      ...(ok
        ? {}
        : {
            suggestion: check.fix
              ? `Repair by hand after review: ${check.fix}`
              : `Find and repair the rows that ${check.sql} counts, then assess again.`,
          }),
      attempts,
      elapsedMs: elapsed(),
    };
  } catch (error) {
    const cause =
      isUpgradeKitError(error) && error.cause !== undefined && !isQueryTimeout(error) ? error.cause : error;
    const message = describeError(cause).message;
    if (isMissingDatabase(error)) {
      return unjudged('skip', `the database of datasource "${check.datasource}" does not exist: ${message}`);
    }
    if (isQueryTimeout(error)) {
      return unjudged(
        'fail',
        `check ${check.id} did not finish within ${duration(timeoutMs)} and was cancelled`,
        `Add an index for the query, or raise \`timeout\` of ${check.id} (${where}).`,
      );
    }
    if (isConnectionError(cause)) {
      return unjudged(
        'fail',
        `check ${check.id}: datasource "${check.datasource}" unreachable after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${message}`,
        'Check the database is up and reachable from here (host, port, firewall), then assess again.',
      );
    }
    return unjudged(
      'fail',
      `check ${check.id} failed with an SQL error: ${message}`,
      `Fix the SQL of ${check.id} in ${where}; a missing table means the check does not fit this version.`,
    );
  }
}

/**
 * Data-quality section (seed 001 §5.2.2): each declared check whose version range contains a
 * version of the route runs on its datasource — at most `concurrency` at a time, with a timeout
 * and retries on connection errors only — and is judged against its threshold. Plugins' own
 * findings join as they are.
 */
export async function assessDataQuality(
  versions: readonly string[],
  o: ResolvedAssessOptions,
): Promise<DataQualitySection> {
  const declared = o.release?.dataQuality ?? [];
  const checks = await pool(declared, o.quality.concurrency, (c) => runCheck(c, versions, o));
  for (const plugin of o.plugins) {
    for (const c of plugin.dataQuality ?? []) {
      const threshold = c.threshold ?? 0;
      const ok = c.offending <= threshold;
      checks.push({
        id: `quality.${plugin.name}.${c.id}`,
        title: c.description,
        status: ok ? 'pass' : c.severity === 'error' ? 'fail' : 'warn',
        detail: `${c.offending} offending row${c.offending === 1 ? '' : 's'} (threshold ${threshold})`,
        ...(ok || !c.suggestion ? {} : { suggestion: `Repair by hand after review: ${c.suggestion}` }),
        datasource: c.datasource ?? '',
        severity: c.severity,
        threshold,
        offending: c.offending,
        ...(c.suggestion ? { fix: c.suggestion } : {}),
        attempts: 1,
        elapsedMs: 0,
        origin: plugin.name,
      });
    }
  }
  return { status: sectionStatus(checks), checks };
}
