-- ksqlDB's aggregate functions, each answering alike as a pull query and as a persistent
-- query (a table) over the same rows.

CREATE STREAM readings (sensor STRING, reading BIGINT, label STRING) WITH (PARTITIONS = 1);
INSERT INTO readings (sensor, reading, label) VALUES
    ('a', 5, 'x'), ('a', 9, NULL), ('a', 9, 'y'), ('a', NULL, NULL), ('a', 7, 'z'),
    ('b', 1, NULL), ('b', NULL, 'w');

-- TOPKDISTINCT: the k greatest distinct values, greatest first (TOPK keeps duplicates).
-- @each-kind
SELECT sensor, TOPKDISTINCT(reading, 2) AS top_distinct, TOPK(reading, 2) AS top FROM readings GROUP BY sensor;

-- LATEST_BY_OFFSET and EARLIEST_BY_OFFSET skip NULLs unless told not to, and with n give the
-- n latest (earliest) values in the order they came.
-- @each-kind
SELECT sensor, LATEST_BY_OFFSET(label) AS latest, LATEST_BY_OFFSET(label, false) AS latest_or_null, EARLIEST_BY_OFFSET(label, false) AS earliest_or_null FROM readings GROUP BY sensor;
-- @each-kind
SELECT sensor, LATEST_BY_OFFSET(reading, 2) AS latest_two, EARLIEST_BY_OFFSET(reading, 2) AS earliest_two, LATEST_BY_OFFSET(label, 3, false) AS latest_three FROM readings GROUP BY sensor;
-- @each-kind
SELECT sensor, EARLIEST_BY_OFFSET(label, 10) AS all_labels FROM readings GROUP BY sensor;

-- The count must be a literal of at least 1, and ignore_nulls a boolean literal.
SELECT sensor, LATEST_BY_OFFSET(reading, 0) FROM readings GROUP BY sensor;
SELECT sensor, LATEST_BY_OFFSET(reading, reading) FROM readings GROUP BY sensor;
CREATE TABLE bad AS SELECT sensor, EARLIEST_BY_OFFSET(reading, true, 2) FROM readings GROUP BY sensor;
SELECT sensor, TOPKDISTINCT(reading, 0) FROM readings GROUP BY sensor;

-- STDDEV_SAMP (and its alias STDDEV_SAMPLE): the sample standard deviation, 0.0 for fewer
-- than two values; CORRELATION: Pearson's coefficient over the pairs with no NULL;
-- HISTOGRAM: how often each string occurs.
-- @each-kind
SELECT sensor, STDDEV_SAMP(reading) AS spread, STDDEV_SAMPLE(reading) AS same_spread, HISTOGRAM(label) AS labels FROM readings GROUP BY sensor;
CREATE STREAM pairs (g STRING, x DOUBLE, y INT) WITH (PARTITIONS = 1);
INSERT INTO pairs (g, x, y) VALUES ('p', 1, 2), ('p', 2, 4), ('p', NULL, 9), ('p', 3, 7), ('q', 1, 1), ('q', 1, 5);
-- @each-kind
SELECT g, CORRELATION(x, y) AS r FROM pairs GROUP BY g;
SELECT g, HISTOGRAM(x) FROM pairs GROUP BY g;

-- A table's rows change: the aggregates follow retractions too.
CREATE TABLE sensors (sensor STRING PRIMARY KEY, site STRING, level BIGINT);
INSERT INTO sensors (sensor, site, level) VALUES ('a', 'north', 3), ('b', 'north', 8), ('c', 'south', 5);
CREATE TABLE levels AS SELECT site, TOPKDISTINCT(level, 2) AS top_levels, LATEST_BY_OFFSET(level, 2) AS last_levels, STDDEV_SAMP(level) AS spread, HISTOGRAM(sensor) AS members FROM sensors GROUP BY site;
-- @settle
SELECT * FROM levels;
INSERT INTO sensors (sensor, site, level) VALUES ('b', 'south', 8), ('d', 'north', 4);
-- @settle
SELECT * FROM levels;

-- Aggregates over ARRAY, MAP and STRUCT values, which ksqlDB's COLLECT_LIST, COLLECT_SET,
-- LATEST_BY_OFFSET and EARLIEST_BY_OFFSET take.
CREATE STREAM shapes (shape STRING, point STRUCT<x INT, y INT>, tags ARRAY<STRING>, attrs MAP<STRING, INT>) WITH (PARTITIONS = 1);
INSERT INTO shapes (shape, point, tags, attrs) VALUES
    ('line', STRUCT(x := 1, y := 2), ARRAY['a', 'b'], MAP('w' := 1)),
    ('line', STRUCT(x := 3, y := 4), ARRAY['a', 'b'], MAP('w' := 2)),
    ('dot', NULL, ARRAY[], MAP('w' := 3));
-- @each-kind
SELECT shape, COLLECT_LIST(point) AS points, COLLECT_SET(tags) AS tag_sets, LATEST_BY_OFFSET(attrs) AS last_attrs, EARLIEST_BY_OFFSET(point, 2) AS first_points FROM shapes GROUP BY shape;
