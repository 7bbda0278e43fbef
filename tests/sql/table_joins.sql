-- Joins of two tables (ksqlDB's table-table joins): incremental, so an update or a delete on
-- either side retracts and re-emits exactly the joined rows it affects.
CREATE TABLE l (id BIGINT PRIMARY KEY, lv STRING) WITH (PARTITIONS = 2);
CREATE TABLE r (id BIGINT PRIMARY KEY, rv STRING) WITH (PARTITIONS = 3);
CREATE TABLE inner_join AS SELECT l.id, lv, rv FROM l JOIN r ON l.id = r.id;
CREATE TABLE left_join AS SELECT l.id, lv, rv FROM l LEFT JOIN r ON l.id = r.id;
CREATE TABLE right_join AS SELECT r.id, lv, rv FROM l RIGHT JOIN r ON l.id = r.id;
CREATE TABLE full_join AS SELECT l.id, lv, rv FROM l FULL OUTER JOIN r ON l.id = r.id;
DESCRIBE full_join;

-- ksqlDB's table-table join, event by event, for one key (its documentation's table).
INSERT INTO l (id, lv) VALUES (1, 'A');
-- @settle
SELECT 'A' AS event, * FROM inner_join;
SELECT 'A' AS event, * FROM left_join;
SELECT 'A' AS event, * FROM right_join;
SELECT 'A' AS event, * FROM full_join;
INSERT INTO r (id, rv) VALUES (1, 'a');
-- @settle
SELECT 'a' AS event, * FROM inner_join;
SELECT 'a' AS event, * FROM left_join;
SELECT 'a' AS event, * FROM right_join;
SELECT 'a' AS event, * FROM full_join;
INSERT INTO l (id, lv) VALUES (1, 'B');
INSERT INTO r (id, rv) VALUES (1, 'b');
-- @settle
SELECT 'B b' AS event, * FROM inner_join;
SELECT 'B b' AS event, * FROM full_join;
-- A left delete: INNER and LEFT lose the row, RIGHT and FULL keep the right one padded.
DELETE FROM l WHERE id = 1;
-- @settle
SELECT 'delete left' AS event, * FROM inner_join;
SELECT 'delete left' AS event, * FROM left_join;
SELECT 'delete left' AS event, * FROM right_join;
SELECT 'delete left' AS event, * FROM full_join;
DELETE FROM r WHERE id = 1;
INSERT INTO l (id, lv) VALUES (1, 'C');
INSERT INTO r (id, rv) VALUES (1, 'c');
-- @settle
SELECT 'C c' AS event, * FROM inner_join;
-- A right delete: a LEFT row is NULL-padded again.
DELETE FROM r WHERE id = 1;
-- @settle
SELECT 'delete right' AS event, * FROM inner_join;
SELECT 'delete right' AS event, * FROM left_join;
SELECT 'delete right' AS event, * FROM right_join;
SELECT 'delete right' AS event, * FROM full_join;
DELETE FROM l WHERE id = 1;
INSERT INTO r (id, rv) VALUES (1, 'd');
-- @settle
SELECT 'd' AS event, * FROM right_join;
SELECT 'd' AS event, * FROM full_join;
INSERT INTO l (id, lv) VALUES (1, 'D');
-- @settle
SELECT 'D' AS event, * FROM inner_join;
SELECT 'D' AS event, * FROM left_join;
SELECT 'D' AS event, * FROM right_join;
SELECT 'D' AS event, * FROM full_join;

-- Many keys at once, in several partitions on each side, with a restart in between.
INSERT INTO l (id, lv) VALUES (2, 'l2'), (3, 'l3'), (4, 'l4'), (5, 'l5');
INSERT INTO r (id, rv) VALUES (3, 'r3'), (4, 'r4'), (6, 'r6');
-- @settle
-- @restart
UPDATE l SET lv = 'l4 again' WHERE id = 4;
DELETE FROM r WHERE id = 3;
INSERT INTO r (id, rv) VALUES (5, 'r5');
-- @settle
SELECT * FROM inner_join;
SELECT * FROM full_join;
SELECT * FROM full_join WHERE id = 6;

-- A foreign-key join (ON the right table's PRIMARY KEY, with another left column): keyed by
-- the left table's PRIMARY KEY. A customer's update re-emits every order that refers to it.
CREATE TABLE customers (id BIGINT PRIMARY KEY, name STRING, credit BIGINT);
CREATE TABLE orders (order_id BIGINT PRIMARY KEY, customer_id BIGINT, amount BIGINT) WITH (PARTITIONS = 2);
CREATE TABLE order_names AS
    SELECT o.order_id, o.amount, c.name FROM orders o JOIN customers c ON o.customer_id = c.id;
CREATE TABLE order_names_all AS
    SELECT o.order_id, o.amount, c.name FROM orders o LEFT JOIN customers c ON o.customer_id = c.id;
-- Beyond ksqlDB: more terms in ON decide the match.
CREATE TABLE within_credit AS
    SELECT o.order_id, o.amount, c.name, c.credit FROM orders o LEFT JOIN customers c
    ON o.customer_id = c.id AND o.amount <= c.credit;
INSERT INTO customers (id, name, credit) VALUES (1, 'ada', 100), (2, 'bob', 10);
INSERT INTO orders (order_id, customer_id, amount) VALUES (10, 1, 50), (11, 1, 500), (12, 2, 5), (13, 3, 1), (14, NULL, 2);
-- @settle
DESCRIBE order_names;
SELECT * FROM order_names;
SELECT * FROM order_names_all;
SELECT * FROM within_credit;
UPDATE customers SET name = 'ada lovelace', credit = 1000 WHERE id = 1;
-- @settle
SELECT * FROM order_names;
SELECT * FROM within_credit;
-- An order moves to another customer; a customer leaves.
UPDATE orders SET customer_id = 2 WHERE order_id = 10;
DELETE FROM customers WHERE id = 1;
INSERT INTO customers (id, name, credit) VALUES (3, 'cy', 0);
-- @settle
SELECT * FROM order_names;
SELECT * FROM order_names_all;
SELECT * FROM within_credit;

-- A GROUP BY over a join: its counts follow every change of either side.
CREATE TABLE orders_per_name AS
    SELECT c.name, COUNT(*) AS orders, SUM(o.amount) AS total FROM orders o JOIN customers c
    ON o.customer_id = c.id GROUP BY c.name;
-- @settle
SELECT * FROM orders_per_name;
UPDATE customers SET name = 'bobby' WHERE id = 2;
-- @settle
SELECT * FROM orders_per_name;

-- N-way joins: a join of tables goes on with more tables, each on the key of the rows so far
-- (keyed by it) or on a foreign key (keyed as the rows so far), in any mix of INNER and outer
-- joins (ksqlDB allows one FULL per query); a change of any of the tables follows through.
CREATE TABLE notes (id BIGINT PRIMARY KEY, note STRING);
CREATE TABLE three AS
    SELECT l.id, lv, rv, n.note FROM l JOIN r ON l.id = r.id LEFT JOIN notes n ON r.id = n.id;
-- After a FULL join the key is the first of its columns that is not NULL.
CREATE TABLE three_full AS
    SELECT l.id, lv, rv, n.note FROM l FULL JOIN r ON l.id = r.id
    FULL JOIN notes n ON COALESCE(l.id, r.id) = n.id;
CREATE TABLE order_details AS
    SELECT o.order_id, o.amount, c.name, n.note FROM orders o LEFT JOIN customers c ON o.customer_id = c.id
    LEFT JOIN notes n ON c.credit = n.id;
INSERT INTO notes (id, note) VALUES (4, 'four'), (5, 'five'), (0, 'no credit'), (7, 'seven'), (1000, 'big credit');
-- @settle
DESCRIBE three_full;
SELECT * FROM three;
SELECT * FROM three_full;
SELECT * FROM order_details;
UPDATE notes SET note = 'FIVE' WHERE id = 5;
DELETE FROM r WHERE id = 4;
UPDATE customers SET credit = 1000 WHERE id = 3;
INSERT INTO l (id, lv) VALUES (7, 'l7');
-- @settle
-- @restart
DELETE FROM notes WHERE id = 0;
INSERT INTO r (id, rv) VALUES (7, 'r7');
-- @settle
SELECT * FROM three;
SELECT * FROM three_full;
SELECT * FROM order_details;

-- ksqlDB's synthetic key of a FULL join, ROWKEY: the first of the two join keys that is not
-- NULL (as COALESCE(l.id, r.id), which works too).
CREATE TABLE full_rowkey AS SELECT ROWKEY, lv, rv FROM l FULL OUTER JOIN r ON l.id = r.id;
CREATE TABLE full_rowkey_named AS SELECT ROWKEY AS id, lv, rv FROM l FULL OUTER JOIN r ON l.id = r.id;
CREATE TABLE full_coalesced AS SELECT COALESCE(l.id, r.id) AS id, lv, rv FROM l FULL OUTER JOIN r ON l.id = r.id;
-- @settle
DESCRIBE full_rowkey;
SELECT * FROM full_rowkey;
SELECT * FROM full_rowkey_named EXCEPT SELECT * FROM full_coalesced;
SELECT COUNT(*) FROM full_coalesced;

-- A pair whose ON fails (a division by zero) does not match, and goes to the processing log;
-- its rows stay in the join's state, so later changes join them as they should.
CREATE TABLE divided AS SELECT l.id, lv, rv FROM l LEFT JOIN r ON l.id = r.id AND 10 / (LEN(rv) - 2) > 0;
-- @settle
SELECT * FROM divided;
UPDATE r SET rv = 'r5 again' WHERE id = 5;
-- @settle
SELECT * FROM divided WHERE id = 5;
-- Each failing pair is logged once, though deletes and the update evaluated pairs again: the
-- query read the tables' whole history, with the pairs of 3 (before r3 left), 4 (before r4
-- left), 5 and 7.
SELECT message, COUNT(*) AS pairs FROM eddy_processing_log WHERE query_id LIKE 'CTAS_DIVIDED%' GROUP BY message;

-- A push query over a join of tables: each change of either table after it starts, joined
-- with the tables' rows as they stand (also those from before it started), as the joined
-- row's new value (upsert) or its departure (delete).
-- @push 4
SELECT l.id, lv, rv FROM l LEFT JOIN r ON l.id = r.id EMIT CHANGES;
UPDATE l SET lv = 'l2 pushed' WHERE id = 2;
INSERT INTO r (id, rv) VALUES (2, 'r2');
DELETE FROM l WHERE id = 3;
INSERT INTO l (id, lv) VALUES (8, 'l8');
-- @await-push

-- Beyond ksqlDB, a join of tables on other columns than the right table's key (many to
-- many): INNER, keyed by both tables' PRIMARY KEYs, which the SELECT list passes through.
CREATE TABLE same_amount AS
    SELECT o.order_id, c.id AS customer, o.amount FROM orders o JOIN customers c ON o.amount = c.credit;
UPDATE orders SET amount = 1000 WHERE order_id IN (10, 12);
-- @settle
SELECT * FROM same_amount;
UPDATE customers SET credit = 1000 WHERE id = 2;
-- @settle
SELECT * FROM same_amount;
DELETE FROM orders WHERE order_id = 12;
-- @settle
SELECT * FROM same_amount;
CREATE TABLE same_amount_no_key AS
    SELECT o.order_id, o.amount FROM orders o JOIN customers c ON o.amount = c.credit;

-- What stays unsupported says so. After a FULL join, l.id is NULL on the rows only r has.
CREATE TABLE full_then_side AS
    SELECT l.id, lv, rv, n.note FROM l FULL JOIN r ON l.id = r.id FULL JOIN notes n ON l.id = n.id;
CREATE TABLE fk_right AS SELECT o.order_id, c.name FROM orders o RIGHT JOIN customers c ON o.customer_id = c.id;
CREATE TABLE not_on_key AS SELECT o.order_id, c.id FROM orders o LEFT JOIN customers c ON o.amount = c.credit;
CREATE TABLE no_key AS SELECT lv, rv FROM l JOIN r ON l.id = r.id;
