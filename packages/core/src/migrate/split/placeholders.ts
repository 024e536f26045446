import { ErrorCodes, UpgradeKitError } from '../../errors/index.js';
import { tokenize } from './lex.js';
import type { SqlDialect, Statement, TokenKind } from './types.js';

export interface PlaceholderOptions {
  /**
   * The dialect the statements were split for: it decides what is a string, a quoted identifier,
   * a dollar quote or a comment. Without it, PostgreSQL's rules apply, the closest to standard SQL
   * ('…' strings, "…" identifiers, `--` and `/* *\/` comments).
   */
  readonly dialect?: SqlDialect;
  /** Fill placeholders inside string literals, quoted identifiers and comments too. */
  readonly inStrings?: boolean;
}

const ANYWHERE = /\$(\$)?\{([A-Za-z_][A-Za-z0-9_.]*)\}/g;
const QUOTED: ReadonlySet<TokenKind> = new Set(['string', 'ident', 'comment']);

/**
 * Replaces `${name}` with values from configuration — never from the environment or the release
 * itself — so a file cannot pull in what the operator did not provide. Only code is filled: a
 * `${x}` inside a string literal, quoted identifier, dollar quote or comment is text, unless
 * `inStrings` is set. `$${name}` is the literal text `${name}` wherever filling happens. COPY data
 * is never touched. An unknown name is an error naming the file and line, raised before any
 * statement runs.
 *
 * @example
 * applyPlaceholders(splitStatements("SELECT '${a}', ${a}", 'postgres'), { a: '1' }, 'f.sql', { dialect: 'postgres' })[0].sql
 * // "SELECT '${a}', 1"
 */
export function applyPlaceholders(
  statements: readonly Statement[],
  values: Readonly<Record<string, string>>,
  file: string,
  options: PlaceholderOptions = {},
): Statement[] {
  const missing: string[] = [];
  const fill = (
    statement: Statement,
    text: string,
    offset: number,
    escaped: boolean,
    name: string,
  ): string => {
    if (escaped) return `\${${name}}`;
    if (Object.hasOwn(values, name)) return values[name] as string;
    const line = statement.line + (statement.sql.slice(0, offset).match(/\n/g)?.length ?? 0);
    missing.push(`${file}:${line} \${${name}}`);
    return text;
  };
  const out = statements.map((statement): Statement => {
    const { sql } = statement;
    if (!sql.includes('${')) return statement;
    const fillText = (text: string, offset: number) =>
      text.replace(ANYWHERE, (match, escaped: string | undefined, name: string, at: number) =>
        fill(statement, match, offset + at, escaped !== undefined, name),
      );
    let filled = '';
    for (const token of tokenize(sql, options.dialect ?? 'postgres')) {
      const text = sql.slice(token.start, token.end);
      if (token.kind === 'placeholder' || token.kind === 'escape') {
        const escaped = token.kind === 'escape';
        filled += fill(statement, text, token.start, escaped, text.slice(escaped ? 3 : 2, -1));
      } else if (!options.inStrings || !QUOTED.has(token.kind)) {
        filled += text;
      } else {
        // A dollar quote's own `$$` must not read as the start of a `$${name}`.
        const tag = (token.kind === 'string' && /^\$[^$]*\$/.exec(text)?.[0]) || '';
        filled +=
          tag && text.length >= 2 * tag.length && text.endsWith(tag)
            ? tag + fillText(text.slice(tag.length, -tag.length), token.start + tag.length) + tag
            : fillText(text, token.start);
      }
    }
    return { ...statement, sql: filled };
  });
  if (missing.length > 0) {
    throw new UpgradeKitError(
      ErrorCodes.BAD_INPUT,
      `Unknown placeholder${missing.length === 1 ? '' : 's'} (give ${missing.length === 1 ? 'it a value' : 'them values'} in the upgrade configuration's \`placeholders\`):\n  ${missing.join('\n  ')}`,
      { context: { file, missing } },
    );
  }
  return out;
}
