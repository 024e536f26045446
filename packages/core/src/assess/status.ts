import { formatBytes, formatShortDuration } from '../events/internal.js';

/** `8m32s`, `1h05m`, `12s`, `350ms` — the assessment's durations. */
export const duration = formatShortDuration;

import type { CheckResult, CheckStatus, Verdict } from './types.js';

const RANK: Record<CheckStatus, number> = { skip: 0, pass: 1, warn: 2, fail: 3 };

/** The worst status of some checks; `pass` when there are none, `skip` when all were skipped. */
export function worst(statuses: readonly CheckStatus[]): CheckStatus {
  if (statuses.length === 0) return 'pass';
  return statuses.reduce((a, b) => (RANK[b] > RANK[a] ? b : a), 'skip' as CheckStatus);
}

export function sectionStatus(checks: readonly Pick<CheckResult, 'status'>[]): CheckStatus {
  return worst(checks.map((c) => c.status));
}

/** Skipped checks never block: the verdict is the worst of the rest. */
export function verdictOf(statuses: readonly CheckStatus[]): Verdict {
  const w = worst(statuses.filter((s) => s !== 'skip'));
  return w === 'skip' ? 'pass' : w;
}

/** `1.5 GiB`, or `n/a` for a figure that was not measured: {@link formatBytes}, binary units. */
export function bytes(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return 'n/a';
  return formatBytes(n);
}
