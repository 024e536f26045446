-- 2.16.7: daily totals for the reporting dashboard. SummingMergeTree adds rows with the same day
-- up when parts merge; the materialized view feeds it from every insert into order_events.
CREATE TABLE order_daily (
  day Date,
  orders UInt64,
  amount_cents UInt64
) ENGINE = SummingMergeTree((orders, amount_cents))
ORDER BY day;

CREATE MATERIALIZED VIEW order_daily_mv TO order_daily AS
SELECT event_date AS day, count() AS orders, sum(amount_cents) AS amount_cents
FROM order_events
WHERE kind = 'created'
GROUP BY day;
