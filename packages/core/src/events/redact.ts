const MASK = '***';

/**
 * Replaces every occurrence of a registered secret in every string of a value, deeply.
 * Secrets shorter than 4 characters are refused: masking "a" would shred every message.
 */
export class Redactor {
  #secrets = new Set<string>();
  #pattern: RegExp | undefined;

  add(secret: string): void {
    if (typeof secret !== 'string') return;
    // Each line of a multi-line secret too: a message cut at its first line still holds that line.
    const parts = [secret, ...secret.split(/\r?\n/).map((l) => l.trim())].filter(
      (s) => s.length >= 4 && !this.#secrets.has(s),
    );
    if (parts.length === 0) return;
    for (const part of parts) this.#secrets.add(part);
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

/** `path`: the objects being walked above this one — a cycle, not merely a value used twice. */
function walk(value: unknown, mask: (text: string) => string, path: WeakSet<object>): unknown {
  if (typeof value === 'string') return mask(value);
  if (value === null || typeof value !== 'object') return value;
  // Values with no text of their own pass as they are (a Date would otherwise become {}).
  if (value instanceof Date || ArrayBuffer.isView(value)) return value;
  if (path.has(value)) return '[circular]';
  path.add(value);
  try {
    if (Array.isArray(value)) return value.map((item) => walk(item, mask, path));
    if (value instanceof Error) {
      // The fields an operator needs (toJson's shape), masked; never the stack.
      const { code, context } = value as { code?: unknown; context?: unknown };
      return {
        name: value.name,
        ...(code === undefined ? {} : { code }),
        message: mask(value.message),
        ...(context === undefined ? {} : { context: walk(context, mask, path) }),
      };
    }
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = walk(item, mask, path);
    return out;
  } finally {
    path.delete(value);
  }
}
