-- ksqlDB's ARRAY and MAP functions (its udf/array, udf/list and udf/map UDFs): each with the
-- examples of ksqlDB's documentation, and NULL and edge cases, over a stream's rows. Elements
-- compare as ksqlDB's Java does: NULL equals NULL, results keep first-seen order.
CREATE STREAM arrays (id BIGINT, ints ARRAY<INT>, more ARRAY<INT>, words ARRAY<STRING>,
    other_words ARRAY<STRING>, flags ARRAY<BOOLEAN>, doubles ARRAY<DOUBLE>,
    decimals ARRAY<DECIMAL(5, 2)>, n INT, word STRING) WITH (PARTITIONS = 1);
INSERT INTO arrays VALUES (1, ARRAY[1, 2, 3, 1, 2], ARRAY[4, 1],
    ARRAY['apple', 'apple', NULL, 'cherry'], ARRAY['cherry'], ARRAY[false, NULL, true, true],
    ARRAY[1.23, -23.42, 0.0, 1e7], ARRAY[123.45, 987.65], 2, 'apple');
INSERT INTO arrays VALUES (2, ARRAY[-1, 2, NULL, 0], ARRAY[2, NULL], ARRAY['Foo', 'Bar', NULL, 'baz'],
    ARRAY['apple'], ARRAY[true, NULL, false], ARRAY[0.0001, NULL], ARRAY[-0.05, NULL], NULL, NULL);
INSERT INTO arrays VALUES (3, ARRAY[7], ARRAY[8], ARRAY['x'], ARRAY['y'], ARRAY[true], ARRAY[2.5],
    ARRAY[1.00], 3, 'y');
INSERT INTO arrays VALUES (4, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 1, 'z');

-- ARRAY_CONCAT is NULL only when both arrays are; the set functions are NULL when either is.
-- @each-kind
SELECT id, ARRAY_CONCAT(ints, more) AS concat_ints, ARRAY_CONCAT(words, other_words) AS concat_words,
    ARRAY_CONCAT(ints, CAST(NULL AS ARRAY<INT>)) AS concat_null
FROM arrays;
-- @each-kind
SELECT id, ARRAY_DISTINCT(ints) AS distinct_ints, ARRAY_DISTINCT(words) AS distinct_words,
    ARRAY_EXCEPT(ints, more) AS except_ints, ARRAY_EXCEPT(words, other_words) AS except_words
FROM arrays;
-- @each-kind
SELECT id, ARRAY_INTERSECT(ints, more) AS intersect_ints,
    ARRAY_INTERSECT(words, ARRAY['apple', NULL]) AS intersect_words,
    ARRAY_UNION(ints, more) AS union_ints, ARRAY_UNION(words, other_words) AS union_words
FROM arrays;

-- ARRAY_CONTAINS is never NULL; ARRAY_REMOVE removes every equal element, NULLs for NULL.
-- @each-kind
SELECT id, ARRAY_CONTAINS(ints, n) AS has_n, ARRAY_CONTAINS(words, word) AS has_word,
    ARRAY_CONTAINS(words, CAST(NULL AS STRING)) AS has_null,
    ARRAY_REMOVE(ints, 2) AS without_2, ARRAY_REMOVE(flags, false) AS without_false,
    ARRAY_REMOVE(words, CAST(NULL AS STRING)) AS without_null
FROM arrays;

-- ARRAY_SORT puts NULLs last either way; an unknown direction gives NULL.
-- @each-kind
SELECT id, ARRAY_SORT(ints) AS ascending, ARRAY_SORT(ints, 'DESC') AS descending,
    ARRAY_SORT(words) AS words_ascending, ARRAY_SORT(words, 'descending') AS words_descending,
    ARRAY_SORT(flags) AS flags_sorted, ARRAY_SORT(ints, 'sideways') AS unknown_direction
FROM arrays;
-- @each-kind
SELECT id, ARRAY_MAX(ints) AS max_int, ARRAY_MIN(ints) AS min_int, ARRAY_MAX(words) AS max_word,
    ARRAY_MIN(words) AS min_word, ARRAY_MAX(flags) AS max_flag, ARRAY_MIN(doubles) AS min_double,
    ARRAY_LENGTH(words) AS length
FROM arrays;

-- ARRAY_JOIN writes elements as Java does, NULL as 'null'; a NULL delimiter is ''.
-- @each-kind
SELECT id, ARRAY_JOIN(flags) AS flags_text, ARRAY_JOIN(ints, '?') AS ints_text,
    ARRAY_JOIN(doubles, ' ') AS doubles_text, ARRAY_JOIN(decimals, '#') AS decimals_text,
    ARRAY_JOIN(words, CAST(NULL AS STRING)) AS words_text
FROM arrays;

-- SLICE counts from 1 and includes both ends; a NULL end is the array's; ends outside the
-- array give NULL (Java's subList throws IndexOutOfBoundsException, which ksqlDB catches).
-- @each-kind
SELECT id, SLICE(words, 2, 3) AS middle, SLICE(words, 1, n) AS to_n, SLICE(words, NULL, 2) AS to_2,
    SLICE(words, 0, 2) AS from_zero, SLICE(words, 2, 9) AS past_end, SLICE(words, 2, 1) AS empty
FROM arrays;
-- A start more than one past the end is the IllegalArgumentException ksqlDB does not catch.
CREATE STREAM slice_backwards AS SELECT id, SLICE(words, 3, 1) AS backwards FROM arrays;

-- GENERATE_SERIES is inclusive, steps by 1 or -1 by default, and answers INTs for INTs.
-- @each-kind
SELECT id, GENERATE_SERIES(1, n) AS up, GENERATE_SERIES(n, 1) AS down,
    GENERATE_SERIES(-5, n, 3) AS stepped, GENERATE_SERIES(CAST(n AS BIGINT), 4) AS bigints
FROM arrays WHERE n IS NOT NULL;

-- A zero step, a step of the wrong sign, a NULL bound (ksqlDB's are Java primitives) and a
-- series of more than 1000000 elements are errors of their row.
CREATE STREAM series_zero_step AS SELECT id, GENERATE_SERIES(0, n, 0) AS s FROM arrays
WHERE id = 1;
CREATE STREAM series_wrong_sign AS SELECT id, GENERATE_SERIES(n, 10, -1) AS s FROM arrays
WHERE id = 1;
CREATE STREAM series_null AS SELECT id, GENERATE_SERIES(1, n) AS s FROM arrays WHERE id = 2;
CREATE STREAM series_too_long AS SELECT id, GENERATE_SERIES(1, n * 1000000) AS s FROM arrays
WHERE id = 1;
-- @settle
SELECT id, backwards FROM slice_backwards;
SELECT query_id, message FROM eddy_processing_log
WHERE query_id LIKE 'CSAS_SERIES_%' OR query_id LIKE 'CSAS_SLICE_%';

CREATE STREAM maps (id BIGINT, m MAP<STRING, INT>, m2 MAP<STRING, INT>, keys ARRAY<STRING>,
    vals ARRAY<INT>) WITH (PARTITIONS = 1);
INSERT INTO maps VALUES (1, map(['apple', 'banana'], [10, 20]), map(['cherry'], [99]),
    ARRAY['a', 'b', 'a'], ARRAY[1, 2, 3]);
INSERT INTO maps VALUES (2, map(['banana', 'apple'], [20, 10]), map(['apple'], [50]),
    ARRAY['x', NULL, 'y'], ARRAY[1]);
INSERT INTO maps VALUES (3, NULL, map(['z'], [1]), ARRAY['k'], NULL);
INSERT INTO maps VALUES (4, NULL, NULL, NULL, ARRAY[1]);

-- @each-kind
SELECT id, MAP_KEYS(m) AS keys_of_m, MAP_VALUES(m) AS values_of_m, MAP_UNION(m, m2) AS union_of_maps,
    AS_MAP(keys, vals) AS built
FROM maps;
-- @each-kind
SELECT id, ENTRIES(m, true) AS sorted_entries, ENTRIES(m, false) AS entries_as_stored
FROM maps;
-- ksqlDB's documented examples, on constructed maps.
-- @each-kind
SELECT id, MAP_KEYS(MAP('apple' := 10, 'banana' := 20)) AS doc_keys,
    MAP_VALUES(MAP('apple' := 10, 'banana' := 20)) AS doc_values,
    MAP_UNION(MAP('apple' := 10, 'banana' := 20), MAP('apple' := 50)) AS doc_union
FROM maps WHERE id = 1;
-- ENTRIES' structs have ksqlDB's fields K and V (lower case, as Eddy folds names), which
-- `->` reaches after an index.
CREATE STREAM map_entries AS SELECT id, ENTRIES(m, true) AS e FROM maps;
-- @settle
DESCRIBE map_entries;
-- @each-kind
SELECT id, ENTRIES(m, true)[1]->K AS first_key, ENTRIES(m, true)[1]->v AS first_value FROM maps;
