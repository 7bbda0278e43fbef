-- Bugs found by using Eddy as its users do, each kept here once fixed, with what went wrong.

-- COALESCE in a persistent query sent every row to eddy_processing_log ("coalesce should
-- have been simplified to case") and left the derived stream empty; a push query failed
-- the same way. Persistent and push queries now simplify expressions as pull queries do.
CREATE STREAM ev (id BIGINT, a BIGINT);
INSERT INTO ev (id, a, rowtime) VALUES (1, 5, 1000), (2, NULL, 2000);
CREATE STREAM filled AS SELECT id, COALESCE(a, -1) AS x FROM ev;
-- @wait-rows filled 2
SELECT id, x, rowtime FROM filled;
SET 'auto.offset.reset' = 'earliest';
SELECT id, COALESCE(a, -1) AS x FROM ev EMIT CHANGES LIMIT 2;
SELECT COUNT(*) AS set_aside FROM eddy_processing_log;

-- INSERT INTO .. SELECT .. LIMIT was accepted and its LIMIT ignored: every row went in.
CREATE STREAM merged (id BIGINT, a BIGINT);
INSERT INTO merged SELECT id, a FROM ev LIMIT 1;

-- An INSERT INTO .. SELECT query restarts with its target's rules and goes on.
INSERT INTO merged SELECT id, a FROM ev WHERE a IS NOT NULL;
-- @wait-rows merged 1
-- @restart
INSERT INTO ev (id, a, rowtime) VALUES (3, 7, 3000);
-- @wait-rows merged 2
SELECT id, a FROM merged;
-- @settle
SHOW QUERIES;

-- LPAD to a negative length read from a column panicked inside DataFusion in a persistent
-- query's task: the query stayed RUNNING, its lag never moved and later rows never arrived
-- (and a huge length aborted the server). LPAD and RPAD now answer as ksqlDB's do (NULL for
-- a negative length), and any function that panics fails its row into eddy_processing_log.
CREATE STREAM words (id BIGINT, n BIGINT, txt STRING);
INSERT INTO words (id, n, txt, rowtime) VALUES (1, 5, 'ab', 1000), (2, -3, 'cd', 2000), (3, 4, 'ef', 3000);
CREATE STREAM padded AS SELECT id, LPAD(txt, n, 'x') AS p FROM words;
-- @wait-rows padded 3
INSERT INTO words (id, n, txt, rowtime) VALUES (4, 3, 'g', 4000);
-- @wait-rows padded 4
SELECT id, p FROM padded;
SELECT query_id, message FROM eddy_processing_log WHERE query_id LIKE 'CSAS_PADDED%';

-- FROM_UNIXTIME read its argument as seconds (DataFusion's meaning), so ksqlDB's example
-- FROM_UNIXTIME(1589234313000) landed in the year 52330; ksqlDB's reads milliseconds.
CREATE STREAM stamps (ms BIGINT);
INSERT INTO stamps (ms) VALUES (1589234313000), (NULL);
SELECT FROM_UNIXTIME(ms) AS t FROM stamps;
SET 'auto.offset.reset' = 'earliest';
SELECT FROM_UNIXTIME(ms) AS t FROM stamps EMIT CHANGES LIMIT 2;

-- WHERE ROWTIME > '2018-01-01T00:00:00' compared ROWTIME as text: in a persistent query every
-- row went to the processing log. ksqlDB reads the string as a timestamp (UTC unless it
-- gives a zone) and compares its epoch milliseconds.
CREATE STREAM timed (id BIGINT);
INSERT INTO timed (id, rowtime) VALUES (1, 1514764799000), (2, 1514764800000), (3, 1514764801000);
SELECT id FROM timed WHERE ROWTIME > '2018-01-01T00:00:00';
SELECT id FROM timed WHERE ROWTIME BETWEEN '2017-12-31T23:59:59.500' AND '2018-01-01';
SELECT id FROM timed WHERE '2018-01-01T01:00:01+01:00' <= timed.rowtime;
CREATE STREAM recent AS SELECT id FROM timed WHERE ROWTIME > '2018-01-01T00:00:00';
-- @wait-rows recent 1
SELECT id FROM recent;
SELECT id FROM timed WHERE ROWTIME > 'yesterday';

-- TIMESTAMP_FORMAT with Java's X zone refused its own forms: 'Z' for UTC and '+01' (an
-- hour without minutes). Both now give the row its event time.
CREATE STREAM zoned (ts STRING) WITH (TIMESTAMP = 'ts', TIMESTAMP_FORMAT = 'yyyy-MM-dd''T''HH:mm:ssX');
INSERT INTO zoned (ts) VALUES ('2024-01-02T03:04:05Z'), ('2024-01-02T04:04:05+01');
SELECT ts, rowtime FROM zoned;

-- SUBSTRING(s, 0, 2) answered one character (Postgres counts position 0 as before the
-- string); ksqlDB's comma form counts 0 as the start and negative positions from the end.
-- The FROM .. FOR form and SUBSTR keep Postgres' meaning.
SELECT SUBSTRING('abcde', 0, 2) AS a, SUBSTRING('abcde', -2) AS b, SUBSTRING('abcde' FROM 0 FOR 2) AS c, SUBSTR('abcde', 0, 2) AS d FROM stamps WHERE ms IS NOT NULL;
CREATE STREAM firsts AS SELECT id, SUBSTRING(txt, 0, 1) AS first FROM words;
-- @wait-rows firsts 4
SELECT id, first FROM firsts;

-- MAP('a' := 'x', 'b' := 'y') dropped the keys and paired the values ({"x": "y"}); with one
-- pair it failed. STRUCT(f := v) was refused. Both are ksqlDB's constructors.
SELECT MAP('a' := 'x', 'b' := 'y') AS two, MAP('k' := 1) AS one, STRUCT(a := 1, "B" := 'x') AS s FROM stamps WHERE ms IS NOT NULL;

-- GROUP BY naming one column twice failed with XX000 "index out of bounds" (ksqlDB refuses
-- it: "Duplicate GROUP BY expression").
CREATE TABLE items (id BIGINT PRIMARY KEY, data STRING, f1 BIGINT, f2 BIGINT);
CREATE TABLE twice AS SELECT COUNT(*) AS n FROM items GROUP BY data, items.data;

-- A GROUP BY key column with a NULL value drops its row, as ksqlDB does; the query goes on.
CREATE TABLE by_pair AS SELECT f2, f1, f2 + f1 AS total, COUNT(*) AS n FROM items GROUP BY f1, f2;
INSERT INTO items (id, data, f1, f2) VALUES (1, 'a', 1, 2), (2, 'b', 3, NULL), (3, 'c', 1, 2);
-- @settle
SELECT f2, f1, total, n FROM by_pair;
SHOW QUERIES;

-- ksqlDB's constructors and functions failed inside INSERT .. VALUES, which skipped the
-- rules queries get: MAP('k' := 1) answered "make_map requires an even number of
-- arguments". A VALUES cell now has the same expression rules as a query.
CREATE STREAM shaped (id BIGINT, m MAP<STRING, BIGINT>, s STRUCT<a BIGINT, b STRING>, t STRING);
INSERT INTO shaped (id, m, s, t) VALUES (1, MAP('k' := 1, 'j' := 2), STRUCT(a := 7, b := 'x'), SUBSTRING('hello', 0, 2));
SELECT id, m, s, t FROM shaped;
