import { ErrorCodes, UpgradeKitError } from '../errors/index.js';

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}

/** The candidate closest to `word` (ignoring case), if within `maxDistance` edits. */
export function nearest(
  word: string,
  candidates: readonly string[],
  maxDistance = Infinity,
): string | undefined {
  if (typeof word !== 'string' || !Array.isArray(candidates)) {
    throw new UpgradeKitError(
      ErrorCodes.BAD_INPUT,
      'nearest: needs the `word` (a string) and its `candidates` (an array of strings)',
      { context: { where: 'nearest' } },
    );
  }
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = distance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return bestDistance <= maxDistance ? best : undefined;
}
