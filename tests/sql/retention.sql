-- Streams' retention: RETENTION_MS (milliseconds) or RETENTION (a duration as a WINDOW clause
-- writes one), recorded in the catalog and shown by DESCRIBE; refused on tables and for values
-- that are not a positive duration. Deleting old segments is tested in executor/tests/retention.rs.
CREATE STREAM hourly (id BIGINT) WITH (RETENTION_MS = 3600000);
CREATE STREAM weekly (id BIGINT) WITH (RETENTION = '7 DAYS', PARTITIONS = 2);
CREATE STREAM brief (id BIGINT) WITH (RETENTION = '1 millisecond');
CREATE STREAM weekly_copy WITH (RETENTION = '2 HOURS') AS SELECT * FROM weekly;
DESCRIBE hourly;
DESCRIBE weekly_copy;
INSERT INTO hourly (id) VALUES (1);
SELECT id FROM hourly;
-- @restart
DESCRIBE weekly;

-- Errors: each names what is wrong.
CREATE TABLE totals (id BIGINT PRIMARY KEY, total BIGINT) WITH (RETENTION_MS = 3600000);
CREATE TABLE counts WITH (RETENTION = '1 DAY') AS SELECT id, COUNT(*) AS n FROM hourly GROUP BY id;
CREATE STREAM zero (id BIGINT) WITH (RETENTION_MS = 0);
CREATE STREAM negative (id BIGINT) WITH (RETENTION_MS = -5);
CREATE STREAM fraction (id BIGINT) WITH (RETENTION_MS = 1.5);
CREATE STREAM words (id BIGINT) WITH (RETENTION_MS = 'a week');
CREATE STREAM no_unit (id BIGINT) WITH (RETENTION = '7');
CREATE STREAM weeks (id BIGINT) WITH (RETENTION = '2 WEEKS');
CREATE STREAM zero_days (id BIGINT) WITH (RETENTION = '0 DAYS');
CREATE STREAM both_ways (id BIGINT) WITH (RETENTION_MS = 1000, RETENTION = '1 SECOND');
CREATE STREAM too_long (id BIGINT) WITH (RETENTION_MS = 9223372036854775808);
SHOW STREAMS;
