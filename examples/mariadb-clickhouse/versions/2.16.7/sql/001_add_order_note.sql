-- 2.16.7: a free-text note per order, and the index the "orders of a customer" page needs.
-- MariaDB commits each DDL statement by itself: upgradekit records progress per statement.
ALTER TABLE orders ADD COLUMN note VARCHAR(500) NULL AFTER status;
CREATE INDEX idx_orders_customer_created ON orders (customer_id, created_at);
