-- 2.16.7: what a customer has spent, for the new account page. DROP … IF EXISTS first, so the
-- task can safely run again (sql.002.idempotent=true).
DROP PROCEDURE IF EXISTS customer_order_total;

DELIMITER $$
CREATE PROCEDURE customer_order_total(IN p_customer INT UNSIGNED, OUT p_total_cents BIGINT UNSIGNED)
READS SQL DATA
BEGIN
  -- cancelled orders do not count; semicolons in the body do not end the statement
  SELECT COALESCE(SUM(total_cents), 0) INTO p_total_cents
    FROM orders
   WHERE customer_id = p_customer AND status <> 'cancelled';
END$$
DELIMITER ;
