-- Smoke test of the whole path: script runner, wire server, engine, store.
CREATE STREAM clicks (user_id BIGINT KEY, url VARCHAR) WITH (KAFKA_TOPIC = 'clicks', VALUE_FORMAT = 'JSON', PARTITIONS = 1);
INSERT INTO clicks (user_id, url) VALUES (1, '/home'), (2, '/cart');
INSERT INTO clicks VALUES (3, '/home');
SELECT user_id, url FROM clicks;
SELECT url, COUNT(*) AS views
FROM clicks
GROUP BY url
ORDER BY url;
SHOW STREAMS;

-- Errors carry their SQLSTATE and stop nothing else.
SELEC user_id FROM clicks;
SELECT * FROM no_such_stream;
SELECT no_such_column FROM clicks;
CREATE STREAM clicks (user_id BIGINT KEY) WITH (KAFKA_TOPIC = 'clicks', VALUE_FORMAT = 'JSON');

-- A push query sees rows inserted after it started.
-- @push 2
SELECT user_id, url FROM clicks EMIT CHANGES;
INSERT INTO clicks VALUES (4, '/checkout'), (5, '/home');
-- @await-push

-- Rows survive a restart.
-- @restart
SELECT COUNT(*) AS clicks FROM clicks;
COPY (SELECT user_id, url FROM clicks WHERE user_id < 3) TO STDOUT;
