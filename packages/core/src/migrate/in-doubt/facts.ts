// The vocabulary of a statement's shape: what the catalog can say exists, and what each
// statement expects of it once it has taken effect.

/** A possibly schema-qualified name, as the server will look it up (case folded where it folds). */
export interface Name {
  readonly schema?: string;
  readonly name: string;
}

/** Something the catalog can say exists or not. */
export type Fact =
  | {
      readonly kind: 'object';
      readonly object: ObjectKind;
      readonly name: Name;
    }
  | { readonly kind: 'column'; readonly table: Name; readonly column: string }
  | { readonly kind: 'index'; readonly table: Name; readonly index: string }
  | { readonly kind: 'constraint'; readonly table: Name; readonly constraint: string };

export type ObjectKind =
  | 'table'
  | 'view'
  | 'procedure'
  | 'function'
  | 'trigger'
  | 'event'
  | 'database'
  | 'sequence'
  | 'index';

/** A fact and whether it holds once the statement has taken effect (it does not hold before). */
export interface Expectation {
  readonly fact: Fact;
  readonly after: boolean;
}

/**
 * What can be known about a statement that may or may not have taken effect:
 * - `rerun`: running it again gives the same end state whether it took effect or not
 *   (`IF [NOT] EXISTS`, `CREATE OR REPLACE`, `MODIFY`, `TRUNCATE`, `VACUUM`, `SET`, …);
 * - `facts`: it took effect exactly when every expectation holds (DDL is atomic on these
 *   servers), and did not when none does;
 * - `concurrent-index`: PostgreSQL's `CREATE INDEX CONCURRENTLY`, which can leave an INVALID index;
 * - `unknown`: only a person can tell (DML outside a transaction, `CALL`, an unnamed index).
 */
export type Shape =
  | { readonly kind: 'rerun'; readonly why: string }
  | { readonly kind: 'facts'; readonly expect: readonly Expectation[] }
  | { readonly kind: 'concurrent-index'; readonly index: Name }
  | { readonly kind: 'unknown'; readonly why: string };

export const rerun = (why: string): Shape => ({ kind: 'rerun', why });
export const unknown = (why: string): Shape => ({ kind: 'unknown', why });

export function facts(expect: Expectation[]): Shape {
  return { kind: 'facts', expect };
}

export const tableFact = (name: Name): Fact => ({ kind: 'object', object: 'table', name });
export const columnFact = (table: Name, column: string): Fact => ({ kind: 'column', table, column });
export const indexFact = (table: Name, index: string): Fact => ({ kind: 'index', table, index });
export const constraintFact = (table: Name, constraint: string): Fact => ({
  kind: 'constraint',
  table,
  constraint,
});

/** `from` is gone and `to` is there once the statement has taken effect (a rename, a CHANGE). */
export function renamed(from: Fact, to: Fact): Expectation[] {
  return [
    { fact: from, after: false },
    { fact: to, after: true },
  ];
}
