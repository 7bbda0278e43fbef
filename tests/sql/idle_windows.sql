-- Windows that close when input goes quiet (Eddy's IDLE TIMEOUT, which ksqlDB lacks): once
-- a query has read all of its input and no row has come for the timeout, its stream time
-- follows the clock, so EMIT FINAL windows and sessions close without a later row. The
-- engine runs on a manual clock here: it moves only when the script moves it.
-- @manual-clock 1000000
CREATE STREAM readings (sensor BIGINT KEY, value BIGINT) WITH (PARTITIONS = 1);
CREATE TABLE per_minute AS SELECT sensor, COUNT(*) AS n, MAX(value) AS peak
    FROM readings WINDOW TUMBLING (SIZE 1 MINUTE, IDLE TIMEOUT 30 SECONDS) GROUP BY sensor EMIT FINAL;
CREATE TABLE never_idle AS SELECT sensor, COUNT(*) AS n
    FROM readings WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY sensor EMIT FINAL;
INSERT INTO readings (sensor, value, rowtime) VALUES (1, 10, 0), (1, 30, 20000), (2, 5, 59999);
-- @settle
-- Input stops. Nothing has closed yet.
SELECT * FROM per_minute;
-- 40 seconds later (10 past the timeout) stream time is 59999 + 10000: the window
-- [0, 60000) has closed, with no new row. The query without IDLE TIMEOUT still waits.
-- @advance-clock 40000
-- @wait-rows per_minute 2
SELECT * FROM per_minute;
SELECT * FROM never_idle;
-- A row behind the stream time the clock moved is late, as any row would be.
INSERT INTO readings (sensor, value, rowtime) VALUES (1, 99, 50000);
-- @settle
SELECT * FROM per_minute;
SELECT message FROM eddy_processing_log WHERE query_id LIKE 'CTAS_PER_MINUTE%';

-- A session closes the same way.
CREATE STREAM clicks (user_id BIGINT KEY, page STRING) WITH (PARTITIONS = 1);
CREATE TABLE visits AS SELECT user_id, COUNT(*) AS pages
    FROM clicks WINDOW SESSION (5 MINUTES, IDLE TIMEOUT 1 MINUTE) GROUP BY user_id EMIT FINAL;
INSERT INTO clicks (user_id, page, rowtime) VALUES (7, '/', 1000), (7, '/a', 61000);
-- @settle
SELECT * FROM visits;
-- @advance-clock 400000
-- @wait-rows visits 1
SELECT * FROM visits;

-- A session sets the default for the windows of the persistent queries it creates; it is
-- kept with each query, so a restart keeps it too.
SET 'eddy.window.idle.timeout' = '10 seconds';
CREATE TABLE quiet AS SELECT sensor, COUNT(*) AS n
    FROM readings WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY sensor EMIT FINAL;
-- @settle
SELECT * FROM quiet;
-- @restart
-- @advance-clock 20000
-- @wait-rows quiet 2
SELECT * FROM quiet;
SET 'eddy.window.idle.timeout' = 'soon';

-- A push query's windows close the same way, so its last window reaches the client without
-- a later row. The row at 70000 closes the first window; once its rows have come, the query
-- has read all of its input, and only the clock closes the second.
CREATE STREAM pings (sensor BIGINT KEY, value BIGINT) WITH (PARTITIONS = 1);
-- @push 3
SELECT sensor, WINDOWSTART AS window_start, COUNT(*) AS n FROM pings WINDOW TUMBLING (SIZE 1 MINUTE, IDLE TIMEOUT 30 SECONDS) GROUP BY sensor EMIT FINAL;
INSERT INTO pings (sensor, value, rowtime) VALUES (1, 10, 0), (1, 30, 20000), (2, 5, 59999), (2, 7, 70000);
-- @wait-push 2
-- @advance-clock 100000
-- @await-push
