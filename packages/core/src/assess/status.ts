import { formatBytes } from '../events/format.js';
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

/** `8m32s`, `1h05m`, `12s`, `350ms`. */
export function duration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return 'n/a';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
