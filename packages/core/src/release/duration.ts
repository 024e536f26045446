const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `30s` → 30000; numbers are milliseconds already. */
export function toMilliseconds(value: number | string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number') return value;
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)$/.exec(value.trim());
  return match ? Number(match[1]) * (UNITS[match[2] ?? 'ms'] ?? 1) : undefined;
}
