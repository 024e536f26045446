-- The demo starts from an empty database, so it creates what 2.16.6 would already have.
CREATE TABLE IF NOT EXISTS customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, spent INTEGER NOT NULL DEFAULT 0);
INSERT INTO customers (name, spent) SELECT 'alice', 1200 WHERE NOT EXISTS (SELECT 1 FROM customers);
INSERT INTO customers (name, spent) SELECT 'bob', 80 WHERE (SELECT COUNT(*) FROM customers) = 1;
ALTER TABLE customers ADD COLUMN tier TEXT;
