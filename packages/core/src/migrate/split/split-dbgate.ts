import { mysqlSplitterOptions, type SplitterOptions, splitQuery } from 'dbgate-query-splitter';
import { codeStart } from './lex.js';
import type { Piece } from './types.js';

const OPTIONS: Record<'clickhouse', SplitterOptions> = {
  // ClickHouse statements end with `;`; its strings and comments are MySQL-like.
  clickhouse: { ...mysqlSplitterOptions, allowCustomDelimiter: false },
};

/**
 * ClickHouse files, split by dbgate-query-splitter: ClickHouse has no command-line client whose
 * quirks a migration file would be written for. Leading comments are dropped by the dialect's own
 * lexer, as for the other dialects. (SQLite files are split by split-sqlite.ts.)
 */
export function splitWithDbgate(text: string, dialect: 'clickhouse'): Piece[] {
  const parts = splitQuery(text, { ...OPTIONS[dialect], returnRichInfo: true }) as unknown as {
    text: string;
    start: { position: number };
    trimStart?: { position: number };
  }[];
  const pieces: Piece[] = [];
  for (const part of parts) {
    const first = codeStart(part.text, dialect);
    if (first < 0) continue;
    pieces.push({
      start: (part.trimStart ?? part.start).position + first,
      sql: part.text.slice(first).trimEnd(),
    });
  }
  return pieces;
}
