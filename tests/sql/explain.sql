-- EXPLAIN shows the dataflow a push or persistent query runs: its inputs, its operators in
-- the order an epoch runs them, what feeds each, the state each keeps and what bounds it (a
-- WARNING where nothing does), and its sink; planned, never run or created. EXPLAIN <query
-- id> shows a running query's, and EXPLAIN ANALYZE adds the rows in and out of each operator
-- since the query started and the size of its state.
CREATE STREAM clicks (user_id BIGINT KEY, url STRING, ms BIGINT) WITH (PARTITIONS = 2);
CREATE STREAM views (user_id BIGINT KEY, page STRING) WITH (PARTITIONS = 2);
CREATE TABLE users (id BIGINT PRIMARY KEY, name STRING, region STRING) WITH (PARTITIONS = 2);
CREATE TABLE regions (region STRING PRIMARY KEY, country STRING) WITH (PARTITIONS = 1);

-- A stateless query: one operator of filters and projections, without state.
EXPLAIN CREATE STREAM slow_clicks AS SELECT user_id, url, ms * 2 AS doubled FROM clicks WHERE ms > 100;
-- EXPLAIN created nothing.
SHOW QUERIES;
SHOW STREAMS;
-- A GROUP BY over a stream keeps a group for every key it ever saw: unbounded, with a warning.
EXPLAIN CREATE TABLE clicks_per_user AS SELECT user_id, COUNT(*) AS clicks FROM clicks GROUP BY user_id;
-- Over a table, a group goes with its last row.
EXPLAIN CREATE TABLE users_per_region AS SELECT region, COUNT(*) AS users FROM users GROUP BY region;
-- Windows bound the state by their retention.
EXPLAIN CREATE TABLE clicks_per_minute AS
    SELECT user_id, COUNT(*) AS clicks, MAX(ms) AS slowest FROM clicks
    WINDOW TUMBLING (SIZE 1 MINUTE, GRACE PERIOD 10 SECONDS) GROUP BY user_id EMIT CHANGES;
EXPLAIN CREATE TABLE sessions AS
    SELECT user_id, COUNT(*) AS clicks FROM clicks WINDOW SESSION (5 MINUTES) GROUP BY user_id;
-- A stream joined with a table reads the table's rows and keeps none of its own.
EXPLAIN CREATE STREAM enriched AS
    SELECT c.user_id, c.url, u.name FROM clicks c LEFT JOIN users u ON c.user_id = u.id WHERE c.ms > 10;
-- Two tables joined keep each side's rows by key, bounded by the tables.
EXPLAIN CREATE TABLE users_with_country AS
    SELECT u.id, u.name, r.country FROM users u JOIN regions r ON u.region = r.region;
-- Two streams joined keep each side's rows within the window and grace period.
EXPLAIN CREATE STREAM clicked_views AS
    SELECT c.user_id, url, page FROM clicks c JOIN views v WITHIN 10 SECONDS GRACE PERIOD 1 MINUTE
    ON c.user_id = v.user_id;
-- INSERT INTO a stream .. SELECT.
CREATE STREAM all_clicks (user_id BIGINT KEY, url STRING, ms BIGINT) WITH (PARTITIONS = 2);
EXPLAIN INSERT INTO all_clicks SELECT * FROM clicks;
-- A push query: its state lives in memory while it runs.
EXPLAIN SELECT user_id, url FROM clicks WHERE ms > 100 EMIT CHANGES;
EXPLAIN SELECT region, COUNT(*) AS users FROM users GROUP BY region EMIT CHANGES;
EXPLAIN SELECT * FROM users u JOIN regions r ON u.region = r.region EMIT CHANGES;
-- A pull query shows DataFusion's plan, which is what runs it.
EXPLAIN SELECT name FROM users WHERE region = 'eu';
EXPLAIN (ANALYZE false, FORMAT TEXT) SELECT name FROM users WHERE region = 'eu';

-- What cannot be planned fails as the statement would.
EXPLAIN CREATE STREAM broken AS SELECT nope FROM clicks;
EXPLAIN CREATE STREAM clicks AS SELECT * FROM views;
EXPLAIN CREATE STREAM IF NOT EXISTS clicks AS SELECT * FROM views;
EXPLAIN ANALYZE CREATE STREAM slow_clicks AS SELECT * FROM clicks;
EXPLAIN DROP STREAM clicks;
EXPLAIN (COSTS false) SELECT * FROM users;
EXPLAIN no_such_query;

-- A running query, by its id as SHOW QUERIES names it.
CREATE STREAM slow_clicks AS SELECT user_id, url, ms * 2 AS doubled FROM clicks WHERE ms > 100;
CREATE TABLE clicks_per_user AS SELECT user_id, COUNT(*) AS clicks FROM clicks GROUP BY user_id;
SHOW QUERIES;
EXPLAIN CSAS_SLOW_CLICKS_7;
INSERT INTO clicks (user_id, url, ms) VALUES (1, '/a', 50), (1, '/b', 500), (2, '/c', 700), (3, '/d', 5);
-- @settle
-- 4 rows read, 2 pass the filter into the stream.
EXPLAIN ANALYZE csas_slow_clicks_7;
-- 4 rows into one epoch: 3 groups, each emitted once; the table holds their rows.
EXPLAIN ANALYZE CTAS_CLICKS_PER_USER_9;
TERMINATE CSAS_SLOW_CLICKS_7;
EXPLAIN CSAS_SLOW_CLICKS_7;
