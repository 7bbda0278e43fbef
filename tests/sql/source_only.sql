-- Read-only sources (ksqlDB's CREATE SOURCE STREAM / TABLE, KLIP-49): queried as any source,
-- never written by a statement.
CREATE SOURCE STREAM feed (id BIGINT KEY, v STRING) WITH (KAFKA_TOPIC = 'feed', VALUE_FORMAT = 'JSON');
CREATE SOURCE TABLE dims (id BIGINT PRIMARY KEY, name STRING) WITH (PARTITIONS = 2);
SHOW STREAMS;
SHOW TABLES;
DESCRIBE feed;
DESCRIBE dims;
-- Every way a statement writes is refused.
INSERT INTO feed VALUES (1, 'a');
INSERT INTO dims (id, name) VALUES (1, 'a');
DELETE FROM dims WHERE id = 1;
DELETE FROM dims;
UPDATE dims SET name = 'b';
INSERT INTO dims SELECT id, name FROM dims;
COPY feed FROM STDIN;
INSERT INTO feed SELECT * FROM feed;
CREATE STREAM other (id BIGINT KEY, v STRING);
INSERT INTO feed SELECT * FROM other;
CREATE SOURCE STREAM made AS SELECT * FROM other;
-- Pull, push and persistent queries read them.
SELECT * FROM feed;
SELECT * FROM dims WHERE id = 1;
SELECT name FROM dims;
CREATE STREAM copied AS SELECT id, v FROM feed;
CREATE TABLE counted AS SELECT id, COUNT(*) AS n FROM feed GROUP BY id;
-- @settle
SELECT * FROM copied;
SELECT * FROM counted;
-- The flag survives a restart.
-- @restart
INSERT INTO feed VALUES (1, 'a');
DESCRIBE dims;
TERMINATE ALL;
DROP TABLE counted;
DROP STREAM copied;
DROP STREAM feed;
DROP TABLE dims;
SHOW STREAMS;
