-- 2.16.7: which channel an order came from. ClickHouse 18.x has no ADD COLUMN IF NOT EXISTS;
-- sql.003.check skips the task when the column is already there.
ALTER TABLE order_events ADD COLUMN channel String DEFAULT 'web' AFTER kind;
