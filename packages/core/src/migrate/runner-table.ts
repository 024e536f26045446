import type { Knex } from 'knex';

const ready = new WeakMap<Knex, Map<string, Promise<void>>>();

/**
 * Creates one of the runner's own tables in the target (`upgradekit_applied`,
 * `upgradekit_progress`) once per connection and schema, through the pool — a catalog lookup per
 * task costs more than a small task. Names are qualified with the schema the task's session started
 * in, so a file that changes `search_path` or the current database cannot move them. Another runner
 * creating it at the same moment is not an error.
 */
export function ensureRunnerTable(
  knex: Knex,
  schema: string | undefined,
  table: string,
  columns: (t: Knex.CreateTableBuilder) => void,
): Promise<void> {
  let bySchema = ready.get(knex);
  if (!bySchema) {
    bySchema = new Map();
    ready.set(knex, bySchema);
  }
  const key = `${schema ?? ''}\u0000${table}`;
  let done = bySchema.get(key);
  if (!done) {
    const builder = () => (schema ? knex.schema.withSchema(schema) : knex.schema);
    done = (async () => {
      if (await builder().hasTable(table)) return;
      await builder()
        .createTable(table, columns)
        .catch(async (error: unknown) => {
          if (!(await builder().hasTable(table))) throw error;
        });
    })();
    bySchema.set(key, done);
    done.catch(() => bySchema.delete(key));
  }
  return done;
}
