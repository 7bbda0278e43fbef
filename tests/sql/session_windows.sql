-- Session windows: WINDOW SESSION (gap) groups a key's rows no more than gap apart into
-- [first, last], both ends inclusive, with ksqlDB's merges and retractions. Each INSERT is
-- settled before the next, so each is its own epoch and every change shows.

-- qtt/session-windows.json "max session": a session grows, and its old row is retracted
-- before the grown one is inserted.
CREATE STREAM test (k BIGINT KEY, id BIGINT, name STRING, value BIGINT) WITH (PARTITIONS = 1);
CREATE TABLE s2 AS SELECT id, MAX(value) AS peak, WINDOWSTART AS first, WINDOWEND AS last
    FROM test WINDOW SESSION (30 SECONDS) GROUP BY id;
-- @push 6
SELECT * FROM s2 EMIT CHANGES;
INSERT INTO test (k, id, name, value, rowtime) VALUES (0, 0, 'zero', 0, 0);
-- @settle
INSERT INTO test (k, id, name, value, rowtime) VALUES (0, 0, '100', 5, 10000);
-- @settle
INSERT INTO test (k, id, name, value, rowtime) VALUES (1, 1, '100', 100, 10000);
-- @settle
INSERT INTO test (k, id, name, value, rowtime) VALUES (1, 1, '100', 200, 40000);
-- @settle
-- @await-push
SELECT * FROM s2;
DESCRIBE s2;

-- A row that bridges two sessions merges them: both are retracted, the merged one comes.
INSERT INTO test (k, id, name, value, rowtime) VALUES (2, 2, 'a', 1, 100000), (2, 2, 'b', 2, 150000);
-- @settle
SELECT id, windowstart, windowend, peak FROM s2 WHERE id = 2;
INSERT INTO test (k, id, name, value, rowtime) VALUES (2, 2, 'c', 3, 125000);
-- @settle
SELECT id, windowstart, windowend, peak FROM s2 WHERE id = 2;

-- Late rows (windows-joins.md §1.3): with gap 30 s and grace 60 s, at stream time 100010 a
-- session ending at 10009 has closed and one ending at 10010 has not. A closed session never
-- merges: a row within its gap starts a session of its own.
CREATE STREAM late_in (id BIGINT KEY, value BIGINT) WITH (PARTITIONS = 1);
CREATE TABLE late_sessions AS SELECT id, COUNT(*) AS n, SUM(value) AS total
    FROM late_in WINDOW SESSION (30 SECONDS, GRACE PERIOD 60 SECONDS) GROUP BY id;
INSERT INTO late_in (id, value, rowtime) VALUES (0, 1, 0), (1, 1, 100010), (0, 2, 10009), (0, 3, 10010);
-- @settle
SELECT id, windowstart, windowend, n, total FROM late_sessions;
SELECT message, record FROM eddy_processing_log WHERE query_id LIKE 'CTAS_LATE_SESSIONS%';

-- EMIT FINAL: each session once, when stream time passes its end plus gap and grace.
CREATE TABLE final_sessions AS SELECT id, COUNT(*) AS n
    FROM late_in WINDOW SESSION (30 SECONDS, GRACE PERIOD 60 SECONDS) GROUP BY id EMIT FINAL;
-- @settle
SELECT id, windowstart, windowend, n FROM final_sessions;
-- A restart keeps the sessions and the stream time.
-- @restart
INSERT INTO late_in (id, value, rowtime) VALUES (1, 5, 100020), (0, 4, 200000);
-- @settle
SELECT id, windowstart, windowend, n FROM final_sessions;
SELECT id, windowstart, windowend, n, total FROM late_sessions;
