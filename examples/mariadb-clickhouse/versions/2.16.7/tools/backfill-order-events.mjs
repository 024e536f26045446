// tool.005.package: a tool module whose run(ctx) gets the step context. ctx.datasources holds the
// site's connections by the names of upgradekit.yaml: `main` is a knex instance on MariaDB,
// `events` a @clickhouse/client client.
//
// It copies every order that has no "created" event yet into ClickHouse, in id order and in
// batches. The watermark (the highest order id already copied) is read from ClickHouse itself,
// so after an interruption a re-run continues where the last batch ended: the task is idempotent
// (tool.005.idempotent=true).
const BATCH = 5000;

export default {
  async run(ctx) {
    const { main, events } = ctx.datasources;
    const result = await events.query({
      query: "SELECT max(order_id) AS watermark FROM order_events WHERE kind = 'created'",
      format: 'JSONEachRow',
      abort_signal: ctx.signal,
    });
    const [{ watermark }] = await result.json();
    let after = Number(watermark);
    let copied = 0;
    for (;;) {
      ctx.signal.throwIfAborted();
      // DATE_FORMAT on the server: the driver would turn DATETIME into a Date in the local zone.
      const orders = await main('orders')
        .select('id', 'total_cents', main.raw("DATE_FORMAT(created_at, '%Y-%m-%d %H:%i:%s') AS created_at"))
        .where('id', '>', after)
        .orderBy('id')
        .limit(BATCH);
      if (orders.length === 0) break;
      await events.insert({
        table: 'order_events',
        format: 'JSONEachRow',
        values: orders.map((o) => ({
          event_date: o.created_at.slice(0, 10),
          event_time: o.created_at,
          order_id: Number(o.id),
          kind: 'created',
          channel: 'web',
          amount_cents: Number(o.total_cents),
        })),
        abort_signal: ctx.signal,
      });
      copied += orders.length;
      after = Number(orders[orders.length - 1].id);
    }
    ctx.log.info(`copied ${copied} orders into order_events (${ctx.from} → ${ctx.to})`);
  },
};
