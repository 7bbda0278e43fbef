-- ksqlDB's lambda functions: TRANSFORM, FILTER and REDUCE of an ARRAY (`x => ..`) and of a
-- MAP (`(k, v) => ..`), alike in pull, push and persistent queries.

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

-- Of a MAP, each lambda takes an entry's key and value: TRANSFORM makes a new key and a new
-- value of each entry, FILTER keeps the entries for which it is true, REDUCE folds the
-- entries in order. A NULL MAP gives NULL (REDUCE: the initial state).
CREATE STREAM scores (id BIGINT, m MAP<STRING, BIGINT>, bonus BIGINT) WITH (PARTITIONS = 1);
INSERT INTO scores (id, m, bonus) VALUES
    (1, MAP('a' := 1, 'b' := 5, 'c' := NULL), 10),
    (2, MAP('x' := 7), 1),
    (3, NULL, 2);
-- @each-kind
SELECT id, TRANSFORM(m, (k, v) => UCASE(k), (k, v) => v * 2) AS shouted, TRANSFORM(m, (k, v) => k + '_' + COALESCE(CAST(v AS STRING), 'none'), (k, v) => v + bonus) AS relabelled FROM scores;
-- @each-kind
SELECT id, FILTER(m, (k, v) => v > 1) AS big, FILTER(m, (k, v) => k != 'a') AS not_a FROM scores;
-- @each-kind
SELECT id, REDUCE(m, 0, (s, k, v) => s + COALESCE(v, 0)) AS total, REDUCE(m, '', (s, k, v) => s + k) AS keys FROM scores;

-- TRANSFORM that gives one MAP the same key twice, or a NULL key, fails the row.
SELECT id, TRANSFORM(m, (k, v) => 'same', (k, v) => v) AS t FROM scores;
CREATE STREAM clashing AS SELECT id, TRANSFORM(m, (k, v) => 'same', (k, v) => v) AS t FROM scores;
CREATE STREAM null_keys AS SELECT id, TRANSFORM(m, (k, v) => CAST(NULL AS STRING), (k, v) => v) AS t FROM scores;
-- @settle
SELECT id, t FROM clashing;
SELECT id, t FROM null_keys;
SELECT message FROM eddy_processing_log WHERE query_id LIKE 'CSAS_CLASHING%' OR query_id LIKE 'CSAS_NULL_KEYS%';

-- A MAP takes two lambdas in TRANSFORM, one in FILTER.
SELECT TRANSFORM(m, (k, v) => k) FROM scores;
SELECT FILTER(m, (k, v) => v > 1, (k, v) => true) FROM scores;
