-- Source tables: a PRIMARY KEY, upserts, deletes by key, current state from pull queries,
-- changes from push queries, and all of it across a restart.
CREATE TABLE users (id BIGINT PRIMARY KEY, name STRING, country STRING, score INT) WITH (PARTITIONS = 2);
INSERT INTO users (id, name, country, score) VALUES (1, 'ada', 'uk', 10), (2, 'grace', 'us', 20), (3, 'linus', 'fi', 30);
SELECT id, name, country, score FROM users;
-- An insert with an existing key replaces its row; of two rows with one key, the last wins.
INSERT INTO users (id, name, country, score) VALUES (2, 'grace hopper', 'us', 25), (4, 'barbara', 'us', 1), (4, 'barbara liskov', 'us', 40);
SELECT id, name, score FROM users;
-- Key lookups, IN lists, range and non-key filters, aggregates, ORDER BY, LIMIT.
SELECT name FROM users WHERE id = 2;
SELECT name FROM users WHERE id IN (1, 3, 99);
SELECT name FROM users WHERE id = 99;
SELECT id, name FROM users WHERE id >= 3;
SELECT country, COUNT(*) AS users, SUM(score) AS score FROM users GROUP BY country ORDER BY country;
SELECT name FROM users ORDER BY score DESC LIMIT 2;
-- Joins between tables and streams.
CREATE STREAM visits (user_id BIGINT KEY, page STRING);
INSERT INTO visits VALUES (1, '/a'), (2, '/b'), (2, '/c'), (9, '/nobody');
SELECT u.name, v.page FROM visits v JOIN users u ON v.user_id = u.id ORDER BY v.page;
SELECT u.name, COUNT(v.page) AS visits FROM users u LEFT JOIN visits v ON v.user_id = u.id GROUP BY u.name ORDER BY u.name;
DELETE FROM users WHERE id = 3;
DELETE FROM users WHERE id IN (1, 77);
DELETE FROM users WHERE id = 3;
SELECT id, name FROM users;
SHOW TABLES;
DESCRIBE users;
-- @restart
SELECT id, name, score FROM users;
INSERT INTO users (id, name, country, score) VALUES (1, 'ada lovelace', 'uk', 50);
SELECT id, name, score FROM users;

-- Composite keys.
CREATE TABLE stock (warehouse STRING PRIMARY KEY, sku BIGINT PRIMARY KEY, quantity INT);
INSERT INTO stock VALUES ('north', 1, 10), ('north', 2, 20), ('south', 1, 30);
INSERT INTO stock VALUES ('north', 1, 11);
DELETE FROM stock WHERE warehouse = 'south' AND sku = 1;
SELECT warehouse, sku, quantity FROM stock;
SELECT quantity FROM stock WHERE warehouse = 'north' AND sku = 2;
DELETE FROM stock WHERE sku IN (1, 2) AND warehouse IN ('north');
SELECT warehouse, sku, quantity FROM stock;

-- Push queries over a table: each change, with a last column `op` saying upsert or delete.
-- A row that stops matching the WHERE clause is a delete for the subscriber.
-- @push 2
SELECT id, name, score FROM users WHERE score > 20 EMIT CHANGES;
INSERT INTO users (id, name, country, score) VALUES (5, 'edsger', 'nl', 60);
INSERT INTO users (id, name, country, score) VALUES (1, 'ada lovelace', 'uk', 5);
-- @await-push
-- From the beginning: the whole history of the table.
SET 'auto.offset.reset' = 'earliest';
SELECT id, name, score FROM users EMIT CHANGES LIMIT 10;

-- DELETE takes any predicate (tests/sql/table_dml.sql has more).
DELETE FROM users WHERE name LIKE 'ada%';
DELETE FROM users WHERE id > 2;
DELETE FROM users;

-- Mistakes.
INSERT INTO users (id, name) VALUES (NULL, 'nobody');
INSERT INTO users (name) VALUES ('nobody');
INSERT INTO stock (warehouse, quantity) VALUES ('east', 5);
CREATE STREAM events (id BIGINT KEY, name STRING);
DELETE FROM events WHERE id = 1;
CREATE TABLE no_key (id BIGINT, name STRING);
CREATE TABLE key_keyword (id BIGINT KEY, name STRING);
CREATE STREAM primary_stream (id BIGINT PRIMARY KEY, name STRING);
CREATE TABLE map_key (tags MAP<STRING, INT> PRIMARY KEY, name STRING);
DROP STREAM users;
DROP TABLE users;
SELECT * FROM users;
SHOW TABLES;
