-- Stream-table joins (ksqlDB's): each stream row joins the table as it stands when the row is
-- processed; a later change of the table never retracts or changes earlier output.
CREATE TABLE users (id BIGINT PRIMARY KEY, name STRING, region STRING) WITH (PARTITIONS = 2);
CREATE STREAM clicks (click_id BIGINT KEY, user_id BIGINT, url STRING) WITH (PARTITIONS = 2);
INSERT INTO users (id, name, region) VALUES (1, 'ada', 'eu'), (2, 'bob', 'us');
INSERT INTO clicks (click_id, user_id, url, rowtime) VALUES (10, 1, '/home', 1000), (11, 2, '/cart', 2000), (12, 3, '/lost', 3000), (13, NULL, '/anonymous', 4000);

-- INNER: a click of a user the table does not hold joins nothing. The key is the stream's
-- join expression (c.user_id); event time is the click's.
CREATE STREAM enriched AS
    SELECT c.user_id, c.click_id, c.url, u.name, u.region FROM clicks c JOIN users u ON c.user_id = u.id EMIT CHANGES;
-- LEFT: every click with a key, NULL-padded without a match; a NULL key joins nothing.
CREATE STREAM enriched_all AS
    SELECT c.user_id, c.url, u.name FROM clicks c LEFT OUTER JOIN users u ON c.user_id = u.id;
-- @settle
DESCRIBE enriched;
SELECT user_id, click_id, url, name, region, rowtime FROM enriched;
SELECT user_id, url, name FROM enriched_all;

-- A table update between clicks: later clicks see the new row, earlier output stays.
UPDATE users SET name = 'ada lovelace' WHERE id = 1;
INSERT INTO users (id, name, region) VALUES (3, 'cy', 'eu');
INSERT INTO clicks (click_id, user_id, url) VALUES (14, 1, '/after-update'), (15, 3, '/found');
-- @settle
SELECT click_id, url, name FROM enriched;
-- A delete: later clicks of the user join nothing (INNER) or NULL (LEFT).
DELETE FROM users WHERE id = 2;
INSERT INTO clicks (click_id, user_id, url) VALUES (16, 2, '/after-delete');
-- @settle
SELECT click_id, url, name FROM enriched;
SELECT user_id, url, name FROM enriched_all WHERE url = '/after-delete';

-- SELECT * names each column after its source, as ksqlDB does; WHERE filters joined rows,
-- and expressions read both sides.
CREATE STREAM everything AS SELECT * FROM clicks c JOIN users u ON c.user_id = u.id WHERE u.region = 'eu';
CREATE STREAM labels AS
    SELECT c.user_id, upper(u.name) + ':' + c.url AS label FROM clicks c JOIN users u ON c.user_id = u.id;
-- @settle
DESCRIBE everything;
SELECT * FROM everything;
SELECT user_id, label FROM labels;

-- More ON conditions: for INNER they filter; for LEFT they decide the match.
CREATE STREAM eu_only AS
    SELECT c.user_id, c.url, u.name FROM clicks c JOIN users u ON c.user_id = u.id AND u.region = 'eu';
CREATE STREAM eu_or_null AS
    SELECT c.user_id, c.url, u.name FROM clicks c LEFT JOIN users u ON c.user_id = u.id AND u.region = 'eu';
-- @settle
SELECT user_id, url, name FROM eu_only;
SELECT user_id, url, name FROM eu_or_null;

-- The table's key may be selected as the key of an INNER join's result.
CREATE STREAM by_table_key AS SELECT u.id, c.url FROM clicks c JOIN users u ON c.user_id = u.id;
-- @settle
DESCRIBE by_table_key;

-- Joined on an expression, the result is keyed by the table's key column (as ksqlDB keys
-- it: the stream side is no column), even in a LEFT join: there it carries the join's key
-- where no user matched, so the key is never NULL. SELECT * takes it in as the key.
CREATE STREAM next_users AS
    SELECT u.id AS next_id, c.click_id, u.name FROM clicks c LEFT JOIN users u ON c.user_id + 1 = u.id;
CREATE STREAM next_users_all AS SELECT * FROM clicks c LEFT JOIN users u ON c.user_id + 1 = u.id;
-- @settle
DESCRIBE next_users;
SELECT next_id, click_id, name FROM next_users;
DESCRIBE next_users_all;
SELECT u_id, c_user_id, c_click_id, u_name FROM next_users_all;

-- PARTITION BY after a join keys the joined rows anew, as it does over one source: the
-- rows of a region share a partition.
CREATE STREAM clicks_by_region AS
    SELECT u.region, c.click_id, u.name FROM clicks c JOIN users u ON c.user_id = u.id PARTITION BY u.region;
CREATE STREAM everything_by_region AS
    SELECT * FROM clicks c JOIN users u ON c.user_id = u.id PARTITION BY u.region;
-- @settle
DESCRIBE clicks_by_region;
SELECT region, click_id, name, rowpartition FROM clicks_by_region;
DESCRIBE everything_by_region;

-- A join feeds a GROUP BY: clicks per region, each click counted in the region its user had.
CREATE TABLE clicks_per_region AS
    SELECT u.region, COUNT(*) AS clicks FROM clicks c JOIN users u ON c.user_id = u.id GROUP BY u.region;
-- Joins chain: the second table is read by a key the first one gave, and keys the result
-- (ksqlDB's rule: the last join's key). A user of a region the table lacks keeps the key.
CREATE TABLE regions (code STRING PRIMARY KEY, label STRING);
INSERT INTO regions (code, label) VALUES ('eu', 'Europe');
CREATE STREAM with_region AS
    SELECT r.code AS region, c.user_id, c.url, u.name, r.label FROM clicks c JOIN users u ON c.user_id = u.id LEFT JOIN regions r ON u.region = r.code;
-- @settle
SELECT region, clicks FROM clicks_per_region;
DESCRIBE with_region;
SELECT region, user_id, url, name, label FROM with_region;

-- A push query joins each new click.
-- @push 2
SELECT c.click_id, u.name FROM clicks c LEFT JOIN users u ON c.user_id = u.id EMIT CHANGES;
INSERT INTO clicks (click_id, user_id, url) VALUES (20, 1, '/pushed'), (21, 9, '/pushed-nobody');
-- @await-push

-- Queries come back after a restart, and go on joining.
-- @restart
INSERT INTO users (id, name, region) VALUES (4, 'dee', 'us');
INSERT INTO clicks (click_id, user_id, url) VALUES (22, 4, '/after-restart');
-- @settle
SELECT click_id, url, name FROM enriched WHERE click_id >= 20;
SELECT region, clicks FROM clicks_per_region;
SELECT region, user_id, url, name, label FROM with_region WHERE user_id = 4;
SELECT region, click_id, name, rowpartition FROM clicks_by_region WHERE click_id >= 20;
-- Flink's spelling of a lookup join is the same join.
CREATE STREAM proctime_joined AS
    SELECT c.user_id, c.url, u.name FROM clicks c JOIN users u FOR SYSTEM_TIME AS OF PROCTIME() ON c.user_id = u.id;
-- @settle
SELECT user_id, url, name FROM proctime_joined WHERE user_id >= 3;
-- INSERT INTO .. SELECT joins too, into a stream of the same columns.
CREATE STREAM more_clicks (click_id BIGINT KEY, user_id BIGINT, url STRING);
INSERT INTO enriched_all SELECT m.user_id, m.url, u.name FROM more_clicks m LEFT JOIN users u ON m.user_id = u.id;
INSERT INTO more_clicks (click_id, user_id, url) VALUES (30, 4, '/more'), (31, 8, '/more');
-- @settle
SELECT user_id, url, name FROM enriched_all WHERE url = '/more';
SHOW QUERIES;

-- What stream-table joins refuse, in ksqlDB's words where it has them.
CREATE STREAM bad AS SELECT c.user_id, u.name FROM clicks c FULL OUTER JOIN users u ON c.user_id = u.id;
CREATE STREAM bad AS SELECT c.user_id, u.name FROM clicks c RIGHT JOIN users u ON c.user_id = u.id;
CREATE STREAM bad AS SELECT u.id, c.url FROM users u JOIN clicks c ON u.id = c.user_id;
CREATE STREAM bad AS SELECT c.user_id, u.name FROM clicks c JOIN users u ON c.url = u.name;
CREATE STREAM bad AS SELECT c.url, u.name FROM clicks c JOIN users u ON c.user_id = u.id;
CREATE STREAM bad AS SELECT c.user_id, u.name FROM clicks c JOIN users u ON c.user_id > u.id;
CREATE STREAM bad AS SELECT c.user_id, u.name FROM clicks c JOIN users u ON c.user_id = u.id PARTITION BY u.region;
CREATE STREAM bad AS SELECT c.click_id, u.name FROM clicks c LEFT JOIN users u ON c.user_id + 1 = u.id;
INSERT INTO enriched_all SELECT m.user_id, m.url, u.name FROM more_clicks m LEFT JOIN users u ON m.user_id = u.id PARTITION BY u.name;
CREATE TABLE bad AS SELECT c.user_id, u.name FROM clicks c JOIN users u ON c.user_id = u.id;
CREATE STREAM bad AS SELECT c.user_id, d.url FROM clicks c JOIN clicks d ON c.user_id = d.user_id;
SELECT c.user_id, u.name FROM clicks c FULL JOIN users u ON c.user_id = u.id EMIT CHANGES;
-- A table that joins read cannot be dropped from under them.
DROP TABLE users;
