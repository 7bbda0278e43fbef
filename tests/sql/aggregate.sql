-- Aggregation: CREATE TABLE .. AS SELECT .. GROUP BY keeps every aggregate up to date as rows
-- arrive in a stream, and as rows of a table change or disappear (retractions).
CREATE STREAM orders (id BIGINT KEY, customer STRING, item STRING, amount INT, price DECIMAL(10, 2)) WITH (PARTITIONS = 2);
INSERT INTO orders (id, customer, item, amount, price, rowtime) VALUES
    (1, 'alice', 'apple', 3, 1.50, 1000),
    (2, 'bob', 'pear', 1, 2.25, 2000),
    (3, 'alice', 'plum', 5, 0.75, 3000),
    (4, 'alice', 'apple', 2, 1.50, 4000),
    (5, NULL, 'fig', 9, 9.99, 5000),
    (6, 'bob', NULL, 4, 1.00, 6000);
CREATE TABLE per_customer AS
    SELECT customer, COUNT(*) AS orders, COUNT(item) AS with_item, SUM(amount) AS amount,
           AVG(amount) AS mean, MIN(amount) AS smallest, MAX(price) AS dearest,
           SUM(price) AS spent, COUNT_DISTINCT(item) AS items,
           LATEST_BY_OFFSET(item) AS last_item, EARLIEST_BY_OFFSET(item) AS first_item,
           COLLECT_LIST(item) AS item_list, COLLECT_SET(item) AS item_set, TOPK(amount, 2) AS top2
    FROM orders GROUP BY customer EMIT CHANGES;
-- @settle
SELECT customer, orders, with_item, amount, mean, smallest, dearest, spent, items FROM per_customer;
SELECT customer, last_item, first_item, item_list, item_set, top2, rowtime FROM per_customer;
INSERT INTO orders (id, customer, item, amount, price, rowtime) VALUES (7, 'carol', 'kiwi', 7, 3.00, 7000), (8, 'bob', 'pear', 8, 2.50, 8000);
-- @settle
SELECT customer, orders, amount, dearest, items, last_item, top2 FROM per_customer;
DESCRIBE per_customer;
SHOW TABLES;
-- Key lookups and full SQL over the aggregate.
SELECT orders FROM per_customer WHERE customer = 'bob';
SELECT SUM(orders) AS all_orders FROM per_customer;

-- Expressions, WHERE before and HAVING after the aggregation.
CREATE TABLE big_items AS
    SELECT upper(item) AS item, COUNT(*) AS orders, SUM(amount * 2) AS doubled
    FROM orders WHERE amount > 1 GROUP BY upper(item) HAVING COUNT(*) >= 1;
-- @settle
SELECT item, orders, doubled FROM big_items;

-- Over a table: an update retracts the old row's contribution and adds the new one, a delete
-- retracts it, a group whose last row goes disappears, and HAVING deletes a group that stops
-- qualifying.
CREATE TABLE accounts (id BIGINT PRIMARY KEY, region STRING, balance INT);
INSERT INTO accounts VALUES (1, 'eu', 100), (2, 'eu', 50), (3, 'us', 70), (4, 'apac', 5);
CREATE TABLE by_region AS
    SELECT region, COUNT(*) AS accounts, SUM(balance) AS total, MIN(balance) AS low,
           MAX(balance) AS high, COLLECT_SET(balance) AS balances
    FROM accounts GROUP BY region;
CREATE TABLE rich_regions AS
    SELECT region, SUM(balance) AS total FROM accounts GROUP BY region HAVING SUM(balance) > 60;
-- @settle
SELECT region, accounts, total, low, high, balances FROM by_region;
SELECT region, total FROM rich_regions;
-- 2 moves from eu to us; 1's balance drops; 4 is deleted: apac disappears.
INSERT INTO accounts VALUES (2, 'us', 55), (1, 'eu', 10);
DELETE FROM accounts WHERE id = 4;
-- @settle
SELECT region, accounts, total, low, high, balances FROM by_region;
SELECT region, total FROM rich_regions;
-- Every aggregate over a table, through an update and a delete.
CREATE TABLE scores (player STRING PRIMARY KEY, team STRING, points INT);
INSERT INTO scores VALUES ('ann', 'red', 10), ('bo', 'red', 30), ('cy', 'red', 20), ('di', 'blue', 5);
CREATE TABLE team_stats AS
    SELECT team, COUNT(*) AS players, COUNT(points) AS scored, SUM(points) AS total,
           AVG(points) AS mean, MIN(points) AS low, MAX(points) AS high,
           COUNT_DISTINCT(points) AS distinct_points, LATEST_BY_OFFSET(player) AS last_player,
           EARLIEST_BY_OFFSET(player) AS first_player, COLLECT_LIST(points) AS point_list,
           COLLECT_SET(player) AS players_set, TOPK(points, 2) AS best
    FROM scores GROUP BY team;
-- @settle
SELECT team, players, scored, total, mean, low, high, distinct_points FROM team_stats;
SELECT team, last_player, first_player, point_list, players_set, best FROM team_stats;
-- bo's 30 becomes 3 (the maximum goes), cy leaves red for blue, ann is deleted.
INSERT INTO scores VALUES ('bo', 'red', 3), ('cy', 'blue', 20);
DELETE FROM scores WHERE player = 'ann';
-- @settle
SELECT team, players, scored, total, mean, low, high, distinct_points FROM team_stats;
SELECT team, last_player, first_player, point_list, players_set, best FROM team_stats;
DELETE FROM scores WHERE player IN ('bo');
-- @settle
SELECT team, players, total, point_list FROM team_stats;

-- A table from a table from a table.
CREATE TABLE region_sizes AS SELECT accounts, COUNT(*) AS regions FROM by_region GROUP BY accounts;
CREATE TABLE busy_regions AS SELECT region, accounts FROM by_region WHERE accounts > 1;
-- @settle
SELECT accounts, regions FROM region_sizes;
SELECT region, accounts FROM busy_regions;
INSERT INTO accounts VALUES (5, 'eu', 1), (6, 'eu', 2);
-- @settle
SELECT accounts, regions FROM region_sizes;
SELECT region, accounts FROM busy_regions;
-- Changes of an aggregate, from the beginning.
SET 'auto.offset.reset' = 'earliest';
SELECT region, total FROM rich_regions EMIT CHANGES LIMIT 4;
-- @restart
INSERT INTO accounts VALUES (7, 'us', 1000);
-- @settle
SELECT region, accounts, total, low, high FROM by_region;
SELECT region, total FROM rich_regions;
SHOW QUERIES;
TERMINATE CTAS_RICH_REGIONS_10;
DROP TABLE rich_regions;
SHOW TABLES;

-- Mistakes.
CREATE STREAM per_item AS SELECT item, COUNT(*) FROM orders GROUP BY item;
CREATE TABLE no_key AS SELECT COUNT(*) AS orders FROM orders;
CREATE TABLE key_hidden AS SELECT COUNT(*) AS orders FROM orders GROUP BY item;
CREATE TABLE passthrough AS SELECT customer, amount FROM orders;
CREATE STREAM from_table AS SELECT region FROM accounts;
CREATE TABLE sum_text AS SELECT item, SUM(customer) FROM orders GROUP BY item;
CREATE TABLE bad_topk AS SELECT item, TOPK(amount, 0) FROM orders GROUP BY item;
INSERT INTO per_customer (customer, orders) VALUES ('mallory', 1);
DELETE FROM per_customer WHERE customer = 'bob';
DROP TABLE accounts;

-- A push query may aggregate too. Over a stream its groups start empty at the end of the
-- stream; taps has one partition, so the rows of one INSERT arrive together.
CREATE STREAM taps (device STRING KEY, n INT);
-- @push 2
SELECT device, COUNT(*) AS taps, SUM(n) AS total FROM taps GROUP BY device HAVING COUNT(*) > 1 EMIT CHANGES;
INSERT INTO taps VALUES ('a', 1), ('a', 2), ('b', 3), ('c', 4), ('c', 5);
-- @await-push
-- Over a table it starts from the table's current rows (its changelog from the beginning).
-- @push 2
SELECT region, COUNT(*) AS accounts, SUM(balance) AS total FROM accounts GROUP BY region EMIT CHANGES;
-- @await-push
