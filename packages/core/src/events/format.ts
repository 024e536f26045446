import prettyBytes from 'pretty-bytes';
import prettyMs from 'pretty-ms';
import type { ProgressEvent, UpgradeEvent } from './types.js';

/** `1m 30s`; sub-second durations keep their milliseconds. */
export function formatDuration(ms: number): string {
  return prettyMs(Math.max(0, Math.round(ms)), { secondsDecimalDigits: ms < 10_000 ? 1 : 0 });
}

/**
 * `1.5 GiB`, `812 KiB`, `120 B`: every size upgradekit prints, in binary units as `df -h`,
 * `free -h` and `ls -lh` show them. The one place sizes are formatted: use it for files, disks,
 * memory, backups and transfer rates alike.
 */
export function formatBytes(bytes: number): string {
  return prettyBytes(bytes, { binary: true });
}

/** `1 warning`, `3 warnings`, `0 tasks`: a count and its noun, in the right number. */
export function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${count} ${count === 1 ? singular : pluralForm}`;
}

const ENGINES: Readonly<Record<string, string>> = {
  mariadb: 'MariaDB',
  mysql: 'MySQL',
  mysql2: 'MySQL',
  pg: 'PostgreSQL',
  postgres: 'PostgreSQL',
  postgresql: 'PostgreSQL',
  sqlite: 'SQLite',
  sqlite3: 'SQLite',
  'better-sqlite3': 'SQLite',
  clickhouse: 'ClickHouse',
};

/**
 * The database engine as a person names it, from what was configured: a datasource's `type` or a
 * client's name (`mariadb` → `MariaDB`, `mysql`/`mysql2` → `MySQL`, `pg` → `PostgreSQL`). Anything
 * else is returned as given.
 */
export function formatEngine(typeOrClient: string): string {
  return ENGINES[typeOrClient.toLowerCase()] ?? typeOrClient;
}

function where(event: UpgradeEvent): string {
  const parts = [event.stage, event.type.startsWith('stage.') ? undefined : event.step].filter(Boolean);
  const scope = parts.join('/');
  const host = event.host ? `@${event.host}` : '';
  return scope || host ? `[${scope}${host}] ` : '';
}

function amount(event: ProgressEvent, value: number): string {
  return event.unit === 'items' ? String(value) : formatBytes(value);
}

/** The progress part of a line: `app.tar.gz 45% 450 MiB/1 GiB at 100 MiB/s, ETA 5s`. */
export function formatProgress(event: ProgressEvent): string {
  const total = event.total === undefined ? '' : `/${amount(event, event.total)}`;
  const percent = event.percent === undefined ? '' : ` ${event.percent.toFixed(0)}%`;
  const rate =
    event.rate === undefined
      ? ''
      : ` at ${event.unit === 'items' ? `${event.rate.toFixed(1)}/s` : `${formatBytes(event.rate)}/s`}`;
  const eta = event.etaMs === undefined ? '' : `, ETA ${formatDuration(event.etaMs)}`;
  return `${event.label}${percent} ${amount(event, event.done)}${total}${rate}${eta}`;
}

/** One human line per event, the same on a TTY and in a CI log (minus colour). */
export function formatEvent(event: UpgradeEvent): string {
  const prefix = where(event);
  switch (event.type) {
    case 'stage.start':
      return `${prefix}stage ${event.stage} started`;
    case 'stage.end':
      // A stage that needs a decision stopped on a step in doubt, whose own end line said why.
      return `${prefix}stage ${event.stage} ${event.status} in ${formatDuration(event.durationMs)}${event.error && event.status !== 'needs-decision' ? `: ${event.error.message}` : ''}`;
    case 'step.start':
      return `${prefix}step ${event.step} started${event.attempt && event.attempt > 1 ? ` (attempt ${event.attempt})` : ''}`;
    case 'step.end':
      return `${prefix}step ${event.step} ${event.status} in ${formatDuration(event.durationMs)}${event.error ? `: ${event.error.message}` : ''}`;
    case 'retry': {
      const what = `attempt ${event.attempt}/${event.attempts} failed (${event.reason}${event.error.code ? `, ${event.error.code}` : ''}): ${event.error.message}`;
      if (event.decision === 'fail-now') return `${prefix}${what}; not retried`;
      return event.delayMs === undefined
        ? `${prefix}${what}; no attempts left`
        : `${prefix}${what}; retrying in ${formatDuration(event.delayMs)}`;
    }
    case 'timeout.warning':
      return `${prefix}${event.fraction >= 0.95 ? 'URGENT: ' : ''}about to time out: ${formatDuration(event.remainingMs)} left (${formatDuration(event.elapsedMs)} of ${formatDuration(event.timeoutMs)} used)`;
    case 'progress':
      return `${prefix}${formatProgress(event)}`;
    case 'log':
      return `${prefix}${event.level === 'info' ? '' : `${event.level}: `}${event.message}`;
  }
}

/** `8m32s`, `1h05m`, `12s`, `350ms`. */
export function formatShortDuration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return 'n/a';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
