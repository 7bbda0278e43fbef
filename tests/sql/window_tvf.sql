-- Window table-valued functions: Flink's and RisingWave's spelling of ksqlDB's windows.
-- TUMBLE, HOP, SESSION and CUMULATE add window_start and window_end (TIMESTAMP) to a
-- stream's rows; GROUP BY window_start, window_end, k plans onto the same windowed
-- aggregation as a WINDOW clause, on the named time column, with grace 0.

CREATE STREAM clicks (user_id BIGINT KEY, url VARCHAR, at BIGINT, ts TIMESTAMP) WITH (PARTITIONS = 1);
INSERT INTO clicks (user_id, url, at, ts, rowtime) VALUES (1, '/a', 0, '1970-01-01T00:00:00', 500000), (1, '/b', 59999, '1970-01-01T00:00:59.999', 1), (2, '/a', 60000, '1970-01-01T00:01:00', 2), (1, '/c', 61000, '1970-01-01T00:01:01', 3);
-- @settle

-- The two spellings give the same windows: ksqlDB's WINDOW clause on ROWTIME and TUMBLE on
-- a column holding the same times.
CREATE STREAM visits (user_id BIGINT KEY, at BIGINT) WITH (PARTITIONS = 1);
INSERT INTO visits (user_id, at, rowtime) VALUES (1, 0, 0), (1, 59999, 59999), (2, 60000, 60000), (1, 61000, 61000);
-- @settle
CREATE TABLE by_clause AS SELECT user_id, COUNT(*) AS n FROM visits WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY user_id;
CREATE TABLE by_tvf AS SELECT user_id, COUNT(*) AS n FROM TUMBLE(visits, at, INTERVAL '1' MINUTE) GROUP BY window_start, window_end, user_id;
-- @settle
SELECT user_id, windowstart, windowend, n FROM by_clause;
SELECT user_id, windowstart, windowend, n FROM by_tvf;

-- A TVF's table is keyed by its GROUP BY columns then windowstart and windowend, as a WINDOW
-- clause's; window_start and window_end are TIMESTAMP values beside that key.
CREATE TABLE per_minute AS SELECT user_id, window_start, window_end, COUNT(*) AS n
    FROM TUMBLE(clicks, at, INTERVAL '1' MINUTE) GROUP BY user_id, window_end, window_start;
-- @settle
DESCRIBE per_minute;
SELECT * FROM per_minute;

-- Flink's spelling, on a TIMESTAMP column, windows by the time column, not by ROWTIME.
CREATE TABLE flink_tumble AS SELECT url, window_start, window_end, COUNT(*) AS n
    FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '1' MINUTES)) GROUP BY window_start, window_end, url;
-- @settle
SELECT url, window_start, window_end, n FROM flink_tumble;

-- HOP: slide first, then size.
CREATE TABLE hops AS SELECT user_id, window_start, window_end, COUNT(*) AS n
    FROM HOP(clicks, at, INTERVAL '30' SECONDS, INTERVAL '1' MINUTE) GROUP BY window_start, window_end, user_id;
-- @settle
SELECT user_id, window_start, window_end, n FROM hops;
CREATE TABLE flink_hops AS SELECT user_id, window_start, window_end, COUNT(*) AS n
    FROM TABLE(HOP(TABLE clicks, DESCRIPTOR(at), INTERVAL '30' SECONDS, INTERVAL '1' MINUTE)) GROUP BY window_start, window_end, user_id;
-- @settle
SELECT user_id, window_start, window_end, n FROM flink_hops;

-- SESSION keeps ksqlDB's bounds [first, last] (Flink's end would be last + gap).
CREATE TABLE sessions AS SELECT user_id, window_start, window_end, COUNT(*) AS n
    FROM SESSION(clicks, at, INTERVAL '5' SECONDS) GROUP BY window_start, window_end, user_id;
CREATE TABLE flink_sessions AS SELECT user_id, window_start, window_end, COUNT(*) AS n
    FROM TABLE(SESSION(TABLE clicks, DESCRIPTOR(at), INTERVAL '5' SECONDS)) GROUP BY window_start, window_end, user_id;
-- @settle
SELECT user_id, window_start, window_end, n FROM sessions;
SELECT user_id, window_start, window_end, n FROM flink_sessions;

-- CUMULATE: windows [start, start + k·step) that grow by step up to size, starts at
-- multiples of size.
CREATE TABLE cumulative AS SELECT user_id, window_start, window_end, COUNT(*) AS n
    FROM CUMULATE(clicks, at, INTERVAL '30' SECONDS, INTERVAL '1' MINUTE) GROUP BY window_start, window_end, user_id;
CREATE TABLE flink_cumulative AS SELECT user_id, window_start, window_end, COUNT(*) AS n
    FROM TABLE(CUMULATE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '30' SECONDS, INTERVAL '1' MINUTE)) GROUP BY window_start, window_end, user_id;
-- @settle
SELECT * FROM cumulative;
SELECT user_id, window_start, window_end, n FROM flink_cumulative;

-- Flink's most common form, the windows alone with no key, runs as a push query; as a
-- table it would have no key, which Eddy does not make yet.
-- @push 2
SELECT window_start, window_end, COUNT(*) AS n FROM TUMBLE(clicks, at, INTERVAL '1' MINUTE) GROUP BY window_start, window_end EMIT FINAL;
INSERT INTO clicks (user_id, url, at) VALUES (3, '/d', 60500), (3, '/e', 120000), (3, '/f', 180000);
-- @await-push
CREATE TABLE clicks_per_minute AS SELECT window_start, window_end, COUNT(*) AS n
    FROM TUMBLE(clicks, at, INTERVAL '1' MINUTE) GROUP BY window_start, window_end;

-- Grace is 0: a row whose window has ended by the time column is late, and set aside.
CREATE STREAM readings (sensor BIGINT KEY, at BIGINT, v BIGINT) WITH (PARTITIONS = 1);
CREATE TABLE sums AS SELECT sensor, window_end, SUM(v) AS total
    FROM TUMBLE(readings, at, INTERVAL '10' SECONDS) GROUP BY window_start, window_end, sensor;
INSERT INTO readings (sensor, at, v, rowtime) VALUES (1, 1000, 1, 0), (1, 10000, 2, 0), (1, 9999, 4, 0), (1, 10001, 8, 0);
-- @settle
SELECT * FROM sums;
SELECT message, record FROM eddy_processing_log WHERE query_id LIKE 'CTAS_SUMS%';
-- A restart plans the TVF query again from its text; its windows go on, and the closed
-- one stays closed.
-- @restart
INSERT INTO readings (sensor, at, v, rowtime) VALUES (1, 19999, 16, 0), (1, 5000, 32, 0);
-- @settle
SELECT * FROM sums;

-- EMIT FINAL, and RisingWave's EMIT ON WINDOW CLOSE which means the same: one row per
-- window, once it has closed.
CREATE STREAM ticks (k BIGINT KEY, at BIGINT) WITH (PARTITIONS = 1);
-- @push 2
SELECT k, window_start, window_end, COUNT(*) AS n FROM TUMBLE(ticks, at, INTERVAL '1' SECOND) GROUP BY window_start, window_end, k EMIT FINAL;
INSERT INTO ticks (k, at) VALUES (1, 0), (1, 1000), (1, 2500);
-- @await-push
-- @push 2
SELECT k, window_start, window_end, COUNT(*) AS n FROM TUMBLE(ticks, at, INTERVAL '1' SECOND) GROUP BY window_start, window_end, k EMIT ON WINDOW CLOSE;
INSERT INTO ticks (k, at) VALUES (2, 0), (2, 1000), (2, 2500);
-- @await-push
-- @push 2
SELECT k, WINDOWSTART, COUNT(*) AS n FROM ticks WINDOW TUMBLING (SIZE 1 SECOND) GROUP BY k EMIT ON WINDOW CLOSE;
INSERT INTO ticks (k, at, rowtime) VALUES (3, 0, 0), (3, 1000, 1000), (3, 2500, 2500);
-- @await-push
-- EMIT CHANGES: every change of a window, consolidated per epoch.
-- @push 2
SELECT k, window_start, COUNT(*) AS n FROM TUMBLE(ticks, at, INTERVAL '1' SECOND) GROUP BY window_start, window_end, k EMIT CHANGES;
INSERT INTO ticks (k, at) VALUES (4, 0), (4, 500), (4, 1500);
-- @await-push

-- Without GROUP BY, TUMBLE and HOP add each row's windows to it (HOP: a row per window).
SELECT * FROM TUMBLE(ticks, at, INTERVAL '1' SECOND);
SELECT k, at, window_start, window_end FROM HOP(ticks, at, INTERVAL '1' SECOND, INTERVAL '2' SECONDS);
CREATE STREAM tumbled AS SELECT k, at, window_start FROM TUMBLE(ticks, at, INTERVAL '1' SECOND);
-- @settle
SELECT * FROM tumbled;

-- Errors.
SELECT * FROM SESSION(ticks, at, INTERVAL '1' SECOND);
SELECT * FROM CUMULATE(ticks, at, INTERVAL '1' SECOND, INTERVAL '2' SECONDS);
SELECT k, COUNT(*) FROM TUMBLE(ticks, at, INTERVAL '1' SECOND) GROUP BY window_start, window_end, k;
SELECT k, COUNT(*) FROM TUMBLE(ticks, missing, INTERVAL '1' SECOND) GROUP BY window_start, window_end, k EMIT CHANGES;
SELECT k, COUNT(*) FROM TUMBLE(clicks, url, INTERVAL '1' SECOND) GROUP BY window_start, window_end, k EMIT CHANGES;
SELECT k, COUNT(*) FROM TUMBLE(ticks, at, 1000) GROUP BY window_start, window_end, k EMIT CHANGES;
SELECT k, COUNT(*) FROM TUMBLE(ticks, at, INTERVAL '1' MONTH) GROUP BY window_start, window_end, k EMIT CHANGES;
SELECT k, COUNT(*) FROM TUMBLE(ticks, at, INTERVAL '1' SECOND) GROUP BY window_start, k EMIT CHANGES;
SELECT k, COUNT(*) FROM TUMBLE(ticks, at, INTERVAL '1' SECOND) GROUP BY k EMIT CHANGES;
SELECT user_id, COUNT(*) FROM TUMBLE(per_minute, n, INTERVAL '1' SECOND) GROUP BY window_start, window_end, user_id EMIT CHANGES;
SELECT k, COUNT(*) FROM TUMBLE(ticks, at, INTERVAL '1' SECOND) WINDOW TUMBLING (SIZE 1 SECOND) GROUP BY window_start, window_end, k EMIT CHANGES;
SELECT k, COUNT(*) FROM CUMULATE(ticks, at, INTERVAL '2' SECONDS, INTERVAL '3' SECONDS) GROUP BY window_start, window_end, k EMIT CHANGES;
SELECT k, COUNT(*) FROM HOP(ticks, at, INTERVAL '1' SECOND) GROUP BY window_start, window_end, k EMIT CHANGES;
SELECT k, COUNT(*) FROM TUMBLE(ticks, at, INTERVAL '1' SECOND) WHERE window_start > 0 GROUP BY window_start, window_end, k EMIT CHANGES;
SELECT k, MAX(window_end) FROM TUMBLE(ticks, at, INTERVAL '1' SECOND) GROUP BY window_start, window_end, k EMIT CHANGES;
SELECT k FROM TUMBLE(ticks, at, INTERVAL '1' SECOND) EMIT FINAL;
