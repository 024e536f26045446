-- 2.16.6: order events for reporting. ClickHouse 18.x dialect: MergeTree with PARTITION BY and
-- ORDER BY clauses, no Decimal (amounts in cents).
CREATE TABLE order_events (
  event_date Date,
  event_time DateTime,
  order_id UInt64,
  kind String,
  amount_cents UInt64
) ENGINE = MergeTree
PARTITION BY toYYYYMM(event_date)
ORDER BY (event_date, order_id);
