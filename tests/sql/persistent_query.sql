-- Persistent queries: CREATE STREAM .. AS SELECT and INSERT INTO .. SELECT process every
-- existing row, then every new one, and carry on after a restart without gaps or duplicates.
CREATE STREAM clicks (user_id BIGINT KEY, url STRING, ms BIGINT) WITH (PARTITIONS = 2);
INSERT INTO clicks (user_id, url, ms, rowtime) VALUES (1, '/home', 12, 1000), (2, '/slow/report', 950, 2000), (3, '/slow/search', 1200, 3000);
CREATE STREAM slow_clicks AS
    SELECT user_id, upper(url) AS url, ms / 1000.0 AS seconds,
           CASE WHEN ms > 1000 THEN 'very slow' ELSE 'slow' END AS verdict
    FROM clicks WHERE ms > 500 EMIT CHANGES;
-- @wait-rows slow_clicks 2
SELECT user_id, url, seconds, verdict, rowtime FROM slow_clicks;
DESCRIBE slow_clicks;
INSERT INTO clicks (user_id, url, ms) VALUES (4, '/slow/cart', 700), (5, '/fast', 3);
-- @wait-rows slow_clicks 3
-- @restart
INSERT INTO clicks (user_id, url, ms) VALUES (6, '/slow/after-restart', 2000);
-- @wait-rows slow_clicks 4
SELECT user_id, url, verdict FROM slow_clicks;
SELECT COUNT(*) AS rows, COUNT(DISTINCT user_id) AS users FROM slow_clicks;

-- Re-keying: PARTITION BY a column of the SELECT list; keyless output with PARTITION BY NULL.
CREATE STREAM by_url WITH (PARTITIONS = 4) AS SELECT url, user_id FROM clicks PARTITION BY url EMIT CHANGES;
CREATE STREAM keyless AS SELECT url FROM clicks PARTITION BY NULL;
-- @wait-rows by_url 6
-- @wait-rows keyless 6
DESCRIBE by_url;
SELECT url, user_id FROM by_url;

-- Functions, CAST, and an explicit event-time column on the output.
CREATE STREAM typed_clicks WITH (TIMESTAMP = 'clicked_at') AS
    SELECT user_id, CAST(ms AS DOUBLE) AS ms_double, CAST(user_id AS STRING) AS user_text,
           length(url) AS url_length, ms + 1000 AS clicked_at
    FROM clicks WHERE user_id <= 3;
-- @wait-rows typed_clicks 3
SELECT user_id, ms_double, user_text, url_length, clicked_at, rowtime FROM typed_clicks;

-- INSERT INTO .. SELECT merges another stream into an existing one.
CREATE STREAM more_clicks (user_id BIGINT KEY, url STRING, ms BIGINT);
INSERT INTO slow_clicks SELECT user_id, url, ms / 1000.0, 'merged' FROM more_clicks WHERE ms > 500;
INSERT INTO more_clicks VALUES (7, '/merged', 800), (8, '/fast-merged', 1);
-- @wait-rows slow_clicks 5
SELECT user_id, url, verdict FROM slow_clicks WHERE verdict = 'merged';
SHOW QUERIES;

-- What persistent queries cannot do yet, and mistakes.
CREATE STREAM counts AS SELECT url, COUNT(*) FROM clicks GROUP BY url;
CREATE STREAM joined AS SELECT c.url FROM clicks c JOIN more_clicks m ON c.user_id = m.user_id;
CREATE STREAM sorted AS SELECT url FROM clicks ORDER BY url;
CREATE STREAM limited AS SELECT url FROM clicks LIMIT 3;
CREATE STREAM windowed AS SELECT url FROM clicks WINDOW TUMBLING (SIZE 1 MINUTE);
SELECT url, COUNT(*) AS n FROM clicks WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY url;
CREATE STREAM final_only AS SELECT url FROM clicks EMIT FINAL;
CREATE STREAM dup_names AS SELECT url, url FROM clicks;
CREATE STREAM with_rowtime AS SELECT user_id, url, rowtime FROM clicks;
CREATE STREAM bad_key AS SELECT url FROM clicks PARTITION BY user_id;
CREATE STREAM from_nowhere AS SELECT url FROM nowhere;
INSERT INTO slow_clicks SELECT user_id FROM more_clicks;
INSERT INTO slow_clicks SELECT user_id, url, url, url FROM more_clicks;
INSERT INTO clicks SELECT * FROM clicks;
INSERT INTO slow_clicks SELECT user_id, url, ms / 1000.0, 'merged' FROM more_clicks LIMIT 2;

-- A row that cannot be processed goes to eddy_processing_log with the reason; the query goes on.
CREATE STREAM ratios (id BIGINT, numerator BIGINT, denominator BIGINT);
CREATE STREAM divided AS SELECT id, numerator / denominator AS ratio FROM ratios;
INSERT INTO ratios (id, numerator, denominator, rowtime) VALUES (1, 10, 2, 1000), (2, 1, 0, 2000), (3, 9, 3, 3000);
-- @wait-rows divided 2
SELECT id, ratio FROM divided;
-- The log's row is appended after the epoch's output: wait for it too.
-- @wait-rows eddy_processing_log 1
SELECT query_id, message, record FROM eddy_processing_log;
DROP STREAM eddy_processing_log;
