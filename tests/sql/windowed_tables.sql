-- Pull and push queries on windowed tables, and sources declared windowed (ksqlDB's
-- WINDOW_TYPE). A pull query that pins a windowed table's group key reads that key's
-- windows by a range of the state store, bounded by WINDOWSTART and filtered by WINDOWEND;
-- bounds are epoch milliseconds or ISO 8601 timestamps (UTC unless they give a zone).
CREATE STREAM clicks (user_id BIGINT KEY, url STRING) WITH (PARTITIONS = 2);
CREATE TABLE per_10s AS SELECT user_id, COUNT(*) AS clicks
    FROM clicks WINDOW TUMBLING (SIZE 10 SECONDS) GROUP BY user_id;
-- 2021-01-01T00:00:00Z is 1609459200000.
INSERT INTO clicks (user_id, url, rowtime) VALUES (1, '/a', 1609459200000), (1, '/b', 1609459205000), (1, '/c', 1609459215000), (1, '/d', 1609459230000), (2, '/a', 1609459200000), (2, '/e', 1609459221000), (3, '/f', 1609459215000);
-- @settle
-- Every window of a key, in window order.
SELECT * FROM per_10s WHERE user_id = 1;
-- Bounds in epoch milliseconds.
SELECT user_id, windowstart, windowend, clicks FROM per_10s
    WHERE user_id = 1 AND windowstart >= 1609459210000 AND windowstart < 1609459240000;
-- Bounds as timestamps, UTC without a zone, and with one.
SELECT user_id, windowstart, clicks FROM per_10s
    WHERE user_id = 1 AND WINDOWSTART >= '2021-01-01T00:00:10' AND WINDOWSTART < '2021-01-01T00:00:30Z';
SELECT user_id, windowstart, clicks FROM per_10s
    WHERE user_id = 1 AND windowstart = '2021-01-01T01:00:10+01:00';
SELECT user_id, windowstart, clicks FROM per_10s
    WHERE '2021-01-01T00:00:10' < windowstart AND user_id = 1;
SELECT user_id, windowstart, clicks FROM per_10s
    WHERE user_id = 1 AND windowstart BETWEEN '2021-01-01T00:00:00' AND 1609459210000;
SELECT user_id, windowstart, clicks FROM per_10s
    WHERE user_id = 1 AND windowstart > 1609459200000 AND windowstart <= 1609459230000;
-- A bound on WINDOWEND.
SELECT user_id, windowstart, windowend, clicks FROM per_10s
    WHERE user_id = 1 AND windowend <= '2021-01-01T00:00:20';
-- Several keys; bounds no window meets; a key with no windows.
SELECT user_id, windowstart, clicks FROM per_10s
    WHERE user_id IN (1, 2) AND windowstart >= '2021-01-01T00:00:20';
SELECT * FROM per_10s WHERE user_id = 1 AND windowstart > 1609459230000;
SELECT * FROM per_10s WHERE user_id = 1 AND windowstart >= 1609459220000 AND windowstart < 1609459220000;
SELECT * FROM per_10s WHERE user_id = 9;
-- The whole key, as before.
SELECT clicks FROM per_10s WHERE user_id = 1 AND windowstart = 1609459200000 AND windowend = 1609459210000;
-- Other filters still apply; a query that does not pin the key reads the whole table.
SELECT user_id, windowstart, clicks FROM per_10s
    WHERE user_id = 1 AND clicks > 1 AND windowstart < '2021-01-01T00:00:30';
SELECT user_id, windowstart, clicks FROM per_10s WHERE windowstart >= '2021-01-01T00:00:20';
SELECT COUNT(*) AS windows FROM per_10s WHERE user_id = 1 AND windowend > 1609459210000;
-- A bound that is not a timestamp.
SELECT * FROM per_10s WHERE user_id = 1 AND windowstart > 'yesterday';

-- Sessions: a session's end is not its start plus a size, so bounds on WINDOWEND filter
-- the key's sessions.
CREATE TABLE sessions AS SELECT user_id, COUNT(*) AS clicks
    FROM clicks WINDOW SESSION (10 SECONDS) GROUP BY user_id;
-- @settle
SELECT user_id, windowstart, windowend, clicks FROM sessions WHERE user_id = 1;
SELECT user_id, windowstart, windowend, clicks FROM sessions
    WHERE user_id = 1 AND windowend >= '2021-01-01T00:00:15' AND windowstart < '2021-01-01T00:00:15';

-- A push query over a windowed table streams its changes with the window columns, from its
-- current rows on.
-- @push 2
SELECT user_id, windowstart, windowend, clicks FROM per_10s WHERE user_id = 3 EMIT CHANGES;
INSERT INTO clicks (user_id, url, rowtime) VALUES (3, '/g', 1609459216000), (3, '/h', 1609459241000);
-- @await-push

-- Sources declared windowed, as ksqlDB scripts declare the topics of windowed queries:
-- `windowstart` and `windowend` are key columns after the declared ones.
CREATE TABLE hourly (k BIGINT PRIMARY KEY, n BIGINT) WITH (WINDOW_TYPE = 'Tumbling', WINDOW_SIZE = '1 HOUR');
DESCRIBE hourly;
INSERT INTO hourly (k, windowstart, windowend, n) VALUES (1, 0, 3600000, 5), (1, 3600000, 7200000, 7), (2, 0, 3600000, 1);
INSERT INTO hourly VALUES (1, 7200000, 10800000, 9);
INSERT INTO hourly (k, n) VALUES (1, 4);
SELECT * FROM hourly WHERE k = 1;
SELECT k, windowstart, n FROM hourly WHERE k = 1 AND windowstart >= '1970-01-01T01:00:00';
CREATE TABLE hops (k STRING PRIMARY KEY, n BIGINT) WITH (WINDOW_TYPE = 'HOPPING', WINDOW_SIZE = '5 SECONDS');
CREATE TABLE visits (k STRING PRIMARY KEY, n BIGINT) WITH (WINDOW_TYPE = 'session');
DESCRIBE visits;
INSERT INTO visits (k, windowstart, windowend, n) VALUES ('a', 1000, 4000, 2), ('a', 9000, 9000, 1), ('b', 1000, 2000, 3);
SELECT k, windowstart, windowend, n FROM visits WHERE k = 'a' AND windowend < 5000;
CREATE STREAM windowed_events (k BIGINT KEY, n BIGINT) WITH (WINDOW_TYPE = 'tumbling', WINDOW_SIZE = '5 SECONDS');
INSERT INTO windowed_events (k, windowstart, windowend, n) VALUES (1, 0, 5000, 10);
SELECT * FROM windowed_events;

-- ksqlDB's rules for declared windows.
CREATE TABLE bad (k BIGINT PRIMARY KEY, n BIGINT) WITH (WINDOW_TYPE = 'Session', WINDOW_SIZE = '5 SECONDS');
CREATE TABLE bad (k BIGINT PRIMARY KEY, n BIGINT) WITH (WINDOW_TYPE = 'Tumbling');
CREATE TABLE bad (k BIGINT PRIMARY KEY, n BIGINT) WITH (WINDOW_TYPE = 'hopping');
CREATE TABLE bad (k BIGINT PRIMARY KEY, n BIGINT) WITH (WINDOW_TYPE = 'Sliding', WINDOW_SIZE = '5 SECONDS');
CREATE TABLE bad (k BIGINT PRIMARY KEY, n BIGINT) WITH (WINDOW_SIZE = '5 SECONDS');
CREATE TABLE bad (k BIGINT PRIMARY KEY, n BIGINT) WITH (WINDOW_TYPE = 'Tumbling', WINDOW_SIZE = '5 FORTNIGHTS');
CREATE TABLE bad (k BIGINT PRIMARY KEY, windowstart BIGINT) WITH (WINDOW_TYPE = 'Session');
CREATE TABLE bad WITH (WINDOW_TYPE = 'Tumbling', WINDOW_SIZE = '1 SECOND') AS SELECT user_id, COUNT(*) AS clicks FROM clicks GROUP BY user_id;

-- A declared window outlives a restart.
-- @restart
DESCRIBE hops;
SELECT k, windowstart, n FROM hourly WHERE k = 1 AND windowstart < 3600000;
