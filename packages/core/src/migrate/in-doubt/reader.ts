import type { Lexeme } from '../split/classify.js';
import type { SqlDialect } from '../split/types.js';
import type { Name } from './facts.js';

/** A cursor over a statement's lexemes. */
export class Reader {
  #at = 0;
  constructor(
    private readonly l: readonly Lexeme[],
    private readonly dialect: SqlDialect,
  ) {}

  peekWord(ahead = 0): string | undefined {
    const x = this.l[this.#at + ahead];
    return x?.kind === 'word' ? x.text : undefined;
  }

  peekPunct(p: string): boolean {
    return this.l[this.#at]?.kind === 'punct' && this.l[this.#at]?.text === p;
  }

  word(): string | undefined {
    const w = this.peekWord();
    if (w !== undefined) this.#at++;
    return w;
  }

  skip(n: number): void {
    this.#at += n;
  }

  skipPunct(p: string): boolean {
    if (!this.peekPunct(p)) return false;
    this.#at++;
    return true;
  }

  /** Skips `IF NOT EXISTS`, saying whether it was there. */
  ifNotExists(): boolean {
    if (this.peekWord() === 'IF' && this.peekWord(1) === 'NOT') {
      this.skip(3);
      return true;
    }
    return false;
  }

  /** Skips `IF EXISTS`, saying whether it was there. */
  ifExists(): boolean {
    if (this.peekWord() === 'IF' && this.peekWord(1) === 'EXISTS') {
      this.skip(2);
      return true;
    }
    return false;
  }

  /** `user@host`, `'user'@'host'`, `CURRENT_USER()` after DEFINER =. */
  skipUser(): void {
    this.#at++;
    if (this.skipPunct('(')) this.skipPunct(')');
    if (this.l[this.#at]?.text === '@' || this.l[this.#at]?.text.startsWith('@')) {
      this.#at++;
      if (this.l[this.#at] && this.l[this.#at]?.kind !== 'word') this.#at++;
      else if (
        this.peekWord() &&
        !['SQL', 'VIEW', 'PROCEDURE', 'FUNCTION', 'TRIGGER', 'EVENT'].includes(this.peekWord()!)
      )
        this.#at++;
    }
  }

  hasWordLater(w: string): boolean {
    return this.l.slice(this.#at).some((x) => x.kind === 'word' && x.text === w);
  }

  /** One identifier, unquoted and case-folded as the server folds it. */
  ident(): string | undefined {
    const x = this.l[this.#at];
    if (!x) return undefined;
    if (x.kind === 'ident') {
      this.#at++;
      const q = x.text[0]!;
      return x.text.slice(1, -1).split(`${q}${q}`).join(q);
    }
    if (x.kind === 'string' && this.dialect === 'mysql' && x.text.startsWith('"')) {
      // With ANSI_QUOTES a "name" is an identifier; without, a string where a name must be: either way, a name.
      this.#at++;
      return x.text.slice(1, -1);
    }
    if (x.kind === 'word') {
      this.#at++;
      const raw = x.raw ?? x.text;
      return this.dialect === 'postgres' ? raw.toLowerCase() : raw;
    }
    return undefined;
  }

  /** `name` or `schema.name`. */
  name(): Name | undefined {
    const first = this.ident();
    if (first === undefined) return undefined;
    if (this.skipPunct('.')) {
      const second = this.ident();
      if (second === undefined) return undefined;
      return { schema: first, name: second };
    }
    return { name: first };
  }

  /** The rest, split at top-level commas. */
  clauses(): Lexeme[][] {
    const out: Lexeme[][] = [[]];
    let depth = 0;
    for (const x of this.l.slice(this.#at)) {
      if (x.kind === 'punct' && x.text === '(') depth++;
      if (x.kind === 'punct' && x.text === ')') depth--;
      if (x.kind === 'punct' && x.text === ';' && depth === 0) break;
      if (x.kind === 'punct' && x.text === ',' && depth === 0) out.push([]);
      else out.at(-1)!.push(x);
    }
    return out.filter((c) => c.length > 0);
  }
}
