-- The catalog: SHOW, DESCRIBE, TERMINATE, DROP, and what survives a restart.
CREATE STREAM source_events (id BIGINT KEY, kind STRING) WITH (PARTITIONS = 2, KAFKA_TOPIC = 'events', VALUE_FORMAT = 'JSON');
INSERT INTO source_events VALUES (1, 'a'), (2, 'b'), (3, 'a');
CREATE STREAM only_a AS SELECT id, kind FROM source_events WHERE kind = 'a';
-- @wait-rows only_a 2
SHOW STREAMS;
SHOW TABLES;
LIST STREAMS;
SHOW QUERIES;
DESCRIBE source_events;
DESCRIBE only_a;
DESCRIBE nothing_here;

-- A stream that a query reads or writes cannot be dropped.
DROP STREAM source_events;
DROP STREAM only_a;
TERMINATE csas_only_a_3;
TERMINATE CSAS_ONLY_A_3;
TERMINATE no_such_query;
SHOW QUERIES;
INSERT INTO source_events VALUES (4, 'a');
SELECT COUNT(*) AS rows_after_terminate FROM only_a;
-- @restart
SHOW QUERIES;
SHOW STREAMS;
DROP STREAM only_a;
DROP STREAM source_events;
DROP STREAM source_events;
DROP STREAM IF EXISTS source_events;
DROP TABLE IF EXISTS nothing;
SHOW STREAMS;
SHOW QUERIES;

-- A dropped name can be used again, and starts empty.
CREATE STREAM source_events (id BIGINT);
SELECT COUNT(*) AS rows FROM source_events;
CREATE STREAM a1 (x INT);
CREATE STREAM a2 AS SELECT x FROM a1;
CREATE STREAM a3 AS SELECT x FROM a1;
TERMINATE ALL;
SHOW QUERIES;
DROP STREAM a1;
DROP STREAM a2 DELETE TOPIC;
DROP TABLE a3;
