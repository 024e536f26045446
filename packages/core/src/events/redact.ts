const MASK = '***';

/**
 * Replaces every occurrence of a registered secret in every string of a value, deeply.
 * Secrets shorter than 4 characters are refused: masking "a" would shred every message.
 */
export class Redactor {
  #secrets = new Set<string>();
  #pattern: RegExp | undefined;

  add(secret: string): void {
    if (typeof secret !== 'string' || secret.length < 4 || this.#secrets.has(secret)) return;
    this.#secrets.add(secret);
    // Longest first, so a secret containing another is masked whole.
    const sources = [...this.#secrets]
      .sort((a, b) => b.length - a.length)
      .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    this.#pattern = new RegExp(sources.join('|'), 'g');
  }

  get size(): number {
    return this.#secrets.size;
  }

  redact<T>(value: T): T {
    const pattern = this.#pattern;
    if (!pattern) return value;
    return walk(value, (text) => text.replace(pattern, MASK), new WeakSet()) as T;
  }
}

function walk(value: unknown, mask: (text: string) => string, seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return mask(value);
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[circular]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((item) => walk(item, mask, seen));
  if (value instanceof Error) {
    return { name: value.name, message: mask(value.message) };
  }
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) out[key] = walk(item, mask, seen);
  return out;
}
