// A tool task: a module whose run(ctx) gets the step context — the site's datasources (here a
// knex instance on the demo's SQLite file), a logger, the versions and an AbortSignal.
export default {
  async run(ctx) {
    const [{ missing }] = await ctx.datasources.main('customers').whereNull('tier').count({ missing: '*' });
    if (Number(missing) > 0) throw new Error(`${missing} customers have no tier after the backfill`);
    ctx.log.info(`every customer has a tier (${ctx.from} → ${ctx.to})`);
  },
};
