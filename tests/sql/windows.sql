-- Windowed aggregation: WINDOW TUMBLING and HOPPING over a stream's event time (rowtime),
-- ksqlDB's rules record for record. Each INSERT below is settled before the next, so each is
-- processed in its own epoch, and every intermediate result shows as ksqlDB's tests expect.

-- qtt/window-bounds.json "table tumbling": the table is keyed by id and window; WINDOWSTART
-- and WINDOWEND may be selected under other names, as values.
CREATE STREAM test (rk BIGINT KEY, id BIGINT) WITH (PARTITIONS = 1);
CREATE TABLE s2 AS SELECT id, WINDOWSTART AS wstart, WINDOWEND AS wend, COUNT(1) AS count
    FROM test WINDOW TUMBLING (SIZE 30 SECONDS) GROUP BY id;
INSERT INTO test (rk, id, rowtime) VALUES (0, 0, 0), (0, 0, 10000), (100, 100, 30000), (100, 100, 45000), (100, 100, 50000), (0, 0, 35000), (0, 0, 70000);
-- @settle
SELECT * FROM s2;
DESCRIBE s2;
-- A windowed table's rowtime is the latest rowtime in the window.
SELECT id, windowstart, rowtime FROM s2;

-- "table hopping": a row falls in every window that holds it, and none starts below 0.
CREATE TABLE hop AS SELECT id, COUNT(1) AS count
    FROM test WINDOW HOPPING (SIZE 30 SECONDS, ADVANCE BY 5 SECONDS) GROUP BY id;
-- @settle
SELECT id, windowstart, windowend, count FROM hop WHERE id = 0;

-- "in expressions": bounds in expressions are computed per window; unaliased, they take
-- generated names.
CREATE STREAM test2 (rk BIGINT KEY, id BIGINT) WITH (PARTITIONS = 1);
CREATE TABLE bounds AS SELECT id, test2.WINDOWSTART / 2, WINDOWEND / id, COUNT(1) * WINDOWEND AS weighted
    FROM test2 WINDOW TUMBLING (SIZE 30 SECONDS) GROUP BY id;
INSERT INTO test2 (rk, id, rowtime) VALUES (2, 2, 0), (100, 100, 2000), (2, 2, 4999), (2, 2, 5000);
-- @settle
SELECT * FROM bounds;

-- Where WINDOWSTART and WINDOWEND may not go (qtt/window-bounds.json).
CREATE TABLE bad AS SELECT count(1), min(windowstart), min(windowend) FROM test WINDOW TUMBLING (SIZE 1 SECOND) GROUP BY id;
CREATE TABLE bad AS SELECT count(1) AS count FROM test WINDOW TUMBLING (SIZE 1 SECOND) WHERE windowEnd < 15000 GROUP BY id;
CREATE TABLE bad AS SELECT count(1) AS count FROM test WINDOW TUMBLING (SIZE 1 SECOND) GROUP BY id, WINDOWSTART, WINDOWEND;
CREATE TABLE bad AS SELECT count(1) AS count FROM test WINDOW TUMBLING (SIZE 1 SECOND) GROUP BY id HAVING windowStart > 11000 AND min(windowEnd) < 15000;
CREATE TABLE bad AS SELECT id, count(1) AS windowstart FROM test WINDOW TUMBLING (SIZE 1 SECOND) GROUP BY id;
CREATE TABLE bad AS SELECT id, count(1) AS count FROM s2 WINDOW TUMBLING (SIZE 1 SECOND) GROUP BY id;
CREATE TABLE bad AS SELECT id, count(1) AS count FROM test WINDOW TUMBLING (SIZE 1 MINUTE, RETENTION 30 SECONDS, GRACE PERIOD 0 SECONDS) GROUP BY id;
SELECT id, count(1) FROM test WINDOW TUMBLING (SIZE 1 SECOND) GROUP BY id;

-- qtt/tumbling-windows.json "out of order - explicit grace period": stream time is shared by
-- every key, and a window takes rows until stream time reaches its end plus grace.
CREATE STREAM late_test (id BIGINT KEY, value BIGINT) WITH (PARTITIONS = 1);
CREATE TABLE late_sums AS SELECT id, SUM(value) AS total
    FROM late_test WINDOW TUMBLING (SIZE 30 SECONDS, GRACE PERIOD 60 SECONDS) GROUP BY id;
INSERT INTO late_test (id, value, rowtime) VALUES (0, 0, 0), (0, 100, 10000), (1, 10, 10003), (0, 50, 30000), (0, 1, 89999), (1, 20, 10004);
-- @settle
-- At stream time 90000 window [0, 30000) closes: the row at 10009 is late.
INSERT INTO late_test (id, value, rowtime) VALUES (0, 2, 90000), (1, 30, 10009);
-- @settle
SELECT id, windowstart, windowend, total FROM late_sums;
SELECT message, record FROM eddy_processing_log WHERE query_id LIKE 'CTAS_LATE_SUMS%';

-- A restart in the middle of open windows: stream time comes back with the query, so the
-- closed window stays closed and the open ones go on.
-- @restart
INSERT INTO late_test (id, value, rowtime) VALUES (1, 40, 29000), (1, 50, 95000);
-- @settle
SELECT id, windowstart, windowend, total FROM late_sums;
SELECT COUNT(*) AS late_rows FROM eddy_processing_log WHERE query_id LIKE 'CTAS_LATE_SUMS%';

-- qtt/suppress.json "should emit at window end if no grace period given": EMIT FINAL has no
-- grace by default, and emits each window once, when a row reaches its end.
CREATE STREAM clicks (id BIGINT KEY, page STRING) WITH (PARTITIONS = 1);
CREATE TABLE final_counts AS SELECT id, COUNT(*) AS clicks
    FROM clicks WINDOW TUMBLING (SIZE 2 MILLISECONDS) GROUP BY id EMIT FINAL;
INSERT INTO clicks (id, page, rowtime) VALUES (1, 'a', 0), (1, 'b', 1);
-- @settle
SELECT * FROM final_counts;
INSERT INTO clicks (id, page, rowtime) VALUES (2, 'c', 2);
-- @settle
SELECT id, windowstart, windowend, clicks, rowtime FROM final_counts;
-- With a grace period, the window waits for it.
CREATE TABLE final_graced AS SELECT id, COUNT(*) AS clicks
    FROM clicks WINDOW TUMBLING (SIZE 2 MILLISECONDS, GRACE PERIOD 3 MILLISECONDS) GROUP BY id EMIT FINAL;
-- @settle
SELECT * FROM final_graced;
INSERT INTO clicks (id, page, rowtime) VALUES (1, 'd', 4);
-- @settle
SELECT * FROM final_graced;
INSERT INTO clicks (id, page, rowtime) VALUES (1, 'e', 5);
-- @settle
SELECT id, windowstart, clicks FROM final_graced;

-- A push query over windows: each window's changes, keyed by group and window.
-- @push 2
SELECT id, WINDOWSTART, COUNT(*) AS clicks FROM clicks WINDOW TUMBLING (SIZE 10 MILLISECONDS) GROUP BY id EMIT CHANGES;
INSERT INTO clicks (id, page, rowtime) VALUES (7, 'x', 100), (7, 'y', 115);
-- @await-push

-- RETENTION: a window's row stays in the table until stream time passes its start plus the
-- retention; then it leaves pull queries, with no delete for subscribers (as ksqlDB).
CREATE STREAM kept_in (id BIGINT KEY, v BIGINT) WITH (PARTITIONS = 1);
CREATE TABLE kept AS SELECT id, COUNT(*) AS n FROM kept_in
    WINDOW TUMBLING (SIZE 10 SECONDS, GRACE PERIOD 0 SECONDS, RETENTION 30 SECONDS) GROUP BY id;
-- @push 3
SELECT * FROM kept EMIT CHANGES;
INSERT INTO kept_in (id, v, rowtime) VALUES (1, 1, 0), (1, 2, 5000), (2, 1, 15000);
-- @settle
SELECT * FROM kept;
-- At stream time 30000 the window [0, 10000) has passed its retention.
INSERT INTO kept_in (id, v, rowtime) VALUES (3, 1, 30000);
-- @settle
-- @await-push
SELECT * FROM kept;
DESCRIBE kept;

-- SHOW QUERIES counts each query's late rows.
-- @settle
SHOW QUERIES;

-- Stream time is kept per input partition, as Kafka Streams keeps it per task: a row in order
-- within its partition is not late because rows of another partition, read first in the same
-- epoch, are ahead of it. Windows close by the epoch's stream time as it ends.
CREATE STREAM two_parts (user_id BIGINT KEY, n BIGINT) WITH (PARTITIONS = 2);
INSERT INTO two_parts (user_id, n, rowtime) VALUES (1, 1, 0), (2, 1, 500), (1, 1, 1500), (2, 1, 2500), (1, 1, 3500), (2, 1, 4500);
SELECT user_id, ROWPARTITION, rowtime FROM two_parts;
SET 'auto.offset.reset' = 'earliest';
CREATE TABLE per_second AS SELECT user_id, COUNT(*) AS clicks FROM two_parts
    WINDOW TUMBLING (SIZE 1 SECOND) GROUP BY user_id EMIT FINAL;
-- @settle
SELECT * FROM per_second;
-- User 1's row at 6000 is behind user 2's at 7000 but in order in its own partition; its row at
-- 4600 is behind the 6000 before it by more than the grace period: late.
INSERT INTO two_parts (user_id, n, rowtime) VALUES (2, 1, 7000), (1, 1, 6000), (1, 1, 4600);
-- @settle
SELECT * FROM per_second;
SELECT message FROM eddy_processing_log WHERE query_id LIKE 'CTAS_PER_SECOND%';
