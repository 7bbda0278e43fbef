-- ksqlDB's lambda functions: TRANSFORM and FILTER of an ARRAY with `x => ..`, alike in
-- pull, push and persistent queries.

CREATE STREAM orders (id BIGINT, prices ARRAY<BIGINT>, tags ARRAY<STRING>, factor BIGINT) WITH (PARTITIONS = 1);
INSERT INTO orders (id, prices, tags, factor) VALUES
    (1, ARRAY[10, 25, NULL, 40], ARRAY['new', 'Sale'], 2),
    (2, ARRAY[], ARRAY['x'], 3),
    (3, NULL, NULL, 4);

-- TRANSFORM applies the lambda to each element (NULLs included); a NULL array stays NULL.
-- @each-kind
SELECT id, TRANSFORM(prices, p => p * 2) AS doubled, TRANSFORM(tags, t => UCASE(t)) AS shouted FROM orders;

-- FILTER keeps the elements for which the lambda is true.
-- @each-kind
SELECT id, FILTER(prices, p => p > 20) AS dear, FILTER(tags, (t) => t LIKE 's%' OR t = 'new') AS picked FROM orders;

-- A lambda sees the row's columns, and lambdas nest.
-- @each-kind
SELECT id, TRANSFORM(prices, p => p * factor) AS scaled, FILTER(TRANSFORM(prices, p => p + 1), q => q > 20) AS bumped FROM orders;

-- REDUCE folds the elements into a state, in order: the state keeps the initial value's
-- type, a NULL array gives the initial state and a NULL initial state gives NULL.
-- @each-kind
SELECT id, REDUCE(prices, 0, (total, p) => total + COALESCE(p, 0)) AS total, REDUCE(tags, '', (s, t) => s + t) AS joined, REDUCE(prices, CAST(NULL AS BIGINT), (s, p) => 1) AS from_null FROM orders;
-- @each-kind
SELECT id, REDUCE(prices, factor, (s, p) => s * 2 + p) AS folded, REDUCE(TRANSFORM(prices, p => p * factor), 1, (s, p) => s + 1) AS counted FROM orders;

-- TRANSFORM, FILTER and REDUCE of a MAP ((k, v) => ..) are not supported yet.
CREATE STREAM scores (id BIGINT, m MAP<STRING, BIGINT>) WITH (PARTITIONS = 1);
SELECT TRANSFORM(m, (k, v) => UCASE(k), (k, v) => v * 2) FROM scores;
SELECT FILTER(m, (k, v) => v > 1) FROM scores;
SELECT REDUCE(m, 0, (s, k, v) => s + v) FROM scores;
