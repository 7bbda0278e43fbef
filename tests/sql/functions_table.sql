-- ksqlDB's table functions: EXPLODE makes one row per element of an ARRAY, in pull, push
-- and persistent queries alike.

CREATE STREAM baskets (id BIGINT, items ARRAY<STRING>, counts ARRAY<BIGINT>) WITH (PARTITIONS = 1);
INSERT INTO baskets (id, items, counts, rowtime) VALUES
    (1, ARRAY['apple', 'pear', 'fig'], ARRAY[3, 1], 1000),
    (2, ARRAY[], ARRAY[7], 2000),
    (3, NULL, NULL, 3000),
    (4, ARRAY['kiwi', NULL], ARRAY[], 4000);

-- One row per element, the other columns repeated; a NULL or empty array gives no row, and a
-- NULL element is a row.
-- @each-kind
SELECT id, EXPLODE(items) AS item FROM baskets;

-- Several EXPLODEs run side by side: as many rows as the longest array, NULL past the end
-- of a shorter one.
-- @each-kind
SELECT id, EXPLODE(items) AS item, EXPLODE(counts) AS n FROM baskets;

-- The exploded value takes part in expressions and filters.
-- @each-kind
SELECT id, UPPER(EXPLODE(items)) AS shout FROM baskets WHERE id < 4;

-- Each exploded row keeps its input row's event time.
CREATE STREAM exploded AS SELECT id, EXPLODE(items) AS item FROM baskets;
-- @settle
SELECT id, item, rowtime FROM exploded;
-- Exploded rows feed an aggregation.
CREATE TABLE item_counts AS SELECT item, COUNT(*) AS baskets FROM exploded GROUP BY item;
INSERT INTO baskets (id, items, counts) VALUES (5, ARRAY['fig', 'fig'], NULL);
-- @settle
SELECT * FROM item_counts;

-- EXPLODE takes an ARRAY.
SELECT EXPLODE(id) FROM baskets;

-- CUBE_EXPLODE: a row for every way of keeping some values and setting the others to NULL
-- (ksqlDB's documented example), a NULL value giving no repeated row.
CREATE STREAM cubes (id BIGINT, dims ARRAY<STRING>) WITH (PARTITIONS = 1);
INSERT INTO cubes (id, dims) VALUES (1, ARRAY['a', 'b']), (2, ARRAY['c', NULL]), (3, NULL);
-- @each-kind
SELECT id, CUBE_EXPLODE(dims) AS combination FROM cubes;
