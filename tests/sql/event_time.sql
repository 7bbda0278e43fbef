-- Event time (rowtime): where it comes from, and that it is never negative.

CREATE STREAM readings (id BIGINT, at BIGINT, reading BIGINT) WITH (PARTITIONS = 1);
INSERT INTO readings (id, at, reading, rowtime) VALUES (1, 5000, 10, 1000), (2, -20, 11, 2000), (3, 7000, 12, 3000);

-- An explicit rowtime before 1970 fails the INSERT (Kafka refuses such a record): nothing of
-- it is written.
INSERT INTO readings (id, at, reading, rowtime) VALUES (4, 1, 1, 4000), (5, 1, 1, -1);
SELECT id, rowtime FROM readings;

-- A stream whose TIMESTAMP column is negative refuses the row the same way.
CREATE STREAM stamped (id BIGINT, at BIGINT) WITH (TIMESTAMP = 'at', PARTITIONS = 1);
INSERT INTO stamped (id, at) VALUES (1, -5);
INSERT INTO stamped (id, at) VALUES (2, 1500);
SELECT id, rowtime FROM stamped;

-- CREATE STREAM .. WITH (TIMESTAMP = 'col') AS SELECT: the output rows take their rowtime
-- from the column; a row whose column is negative is set aside, the others go on.
CREATE STREAM retimed WITH (TIMESTAMP = 'at') AS SELECT id, at, reading FROM readings;
-- @settle
SELECT id, at, rowtime FROM retimed;
SELECT message FROM eddy_processing_log WHERE query_id LIKE 'CSAS_RETIMED%';
DESCRIBE retimed;
