-- Temporal filters: a persistent query's WHERE may compare a row's time with NOW(), as in
-- RisingWave and Materialize. A row is in the result while the clock is inside its bounds:
-- with `time > NOW() - INTERVAL ..` it leaves when the clock passes it, with no new input
-- (a per-table TTL); with `time <= NOW() - INTERVAL ..` it waits until the clock reaches it.
-- The engine runs on a manual clock here: it moves only when the script moves it.
-- @manual-clock 1000000

-- A table that keeps only the last minute of its input table's rows, by a column.
CREATE TABLE logins (id BIGINT PRIMARY KEY, who STRING, seen BIGINT);
CREATE TABLE recent_logins AS SELECT id, who, seen FROM logins WHERE seen > NOW() - INTERVAL '1' MINUTE;
INSERT INTO logins (id, who, seen) VALUES (1, 'ann', 990000), (2, 'bob', 1000000), (3, 'cy', 900000);
-- @settle
-- cy's login is already older than a minute: it never shows.
SELECT * FROM recent_logins;
-- At 1,050,001 ann's login (990,000) is more than a minute old: it leaves, with no input.
-- @advance-clock 50001
-- @wait-count recent_logins 1
SELECT * FROM recent_logins;
-- An update of the input table moves the row's bound: bob logs in again.
UPDATE logins SET seen = 1050000 WHERE id = 2;
-- @settle
SELECT * FROM recent_logins;
-- The schedule survives a restart.
-- @restart
-- @advance-clock 60000
-- @wait-count recent_logins 0
SELECT * FROM recent_logins;

-- Over a stream, before an aggregation: a sliding count of the last minute per user.
CREATE STREAM clicks (user_id BIGINT KEY, page STRING) WITH (PARTITIONS = 1);
CREATE TABLE clicks_last_minute AS SELECT user_id, COUNT(*) AS clicks FROM clicks
    WHERE ROWTIME > NOW() - INTERVAL '1' MINUTE GROUP BY user_id;
INSERT INTO clicks (user_id, page, rowtime) VALUES (7, '/', 1100000), (7, '/a', 1130000), (8, '/', 1140000);
-- @settle
SELECT * FROM clicks_last_minute;
-- At 1,195,001 both of user 7's clicks are more than a minute old.
-- @advance-clock 85000
-- @wait-count clicks_last_minute 1
SELECT * FROM clicks_last_minute;

-- An upper bound delays rows: each click comes out ten seconds after its time.
CREATE STREAM settled_clicks AS SELECT user_id, page FROM clicks WHERE ROWTIME <= NOW() - INTERVAL '10' SECONDS;
-- @settle
SELECT user_id, page, rowtime FROM settled_clicks;
-- The clock reads 1,195,001: a click at 1,200,000 comes out at 1,210,000.
INSERT INTO clicks (user_id, page, rowtime) VALUES (9, '/next', 1200000);
-- @settle
SELECT user_id, page FROM settled_clicks WHERE user_id = 9;
-- @advance-clock 15000
-- @wait-rows settled_clicks 4
SELECT user_id, page FROM settled_clicks WHERE user_id = 9;

-- What is refused.
CREATE STREAM expiring AS SELECT * FROM clicks WHERE ROWTIME > NOW() - INTERVAL '1' MINUTE;
CREATE TABLE stamped AS SELECT id, NOW() AS at FROM logins;
CREATE TABLE either AS SELECT * FROM logins WHERE seen > NOW() - INTERVAL '1' MINUTE OR id = 1;
CREATE TABLE exact AS SELECT * FROM logins WHERE seen = NOW();
CREATE TABLE by_name AS SELECT * FROM logins WHERE who > NOW() - INTERVAL '1' MINUTE;
SELECT * FROM clicks WHERE ROWTIME > NOW() - INTERVAL '1' MINUTE EMIT CHANGES;
