-- ksqlDB's JSON functions: EXTRACTJSONFIELD, IS_JSON_STRING, JSON_ARRAY_LENGTH,
-- JSON_ARRAY_CONTAINS, JSON_CONCAT, JSON_ITEMS, JSON_KEYS, JSON_RECORDS and TO_JSON_STRING,
-- each with ksqlDB's documented examples and its NULL and edge cases, answered alike by pull,
-- push and persistent queries. Text that is not JSON is an error of its row where ksqlDB's
-- function throws on it, shown at the end.

-- EXTRACTJSONFIELD: `$`, `.name`, `[index]` and `["name"]` steps; a text node's text, any
-- other node's JSON (numbers as Jackson prints them); NULL where the path leads nowhere.
CREATE STREAM extract_cases (id BIGINT, doc STRING, path STRING) WITH (PARTITIONS = 1);
INSERT INTO extract_cases (id, doc, path) VALUES
    (1, '{"log": {"cloud": "gcp836Csd", "app": "ksProcessor", "instance": 4}}', '$.log.cloud'),
    (2, '{"log": {"cloud": "gcp836Csd", "app": "ksProcessor", "instance": 4}}', '$.log.instance'),
    (3, '{"log": {"cloud": "gcp836Csd", "app": "ksProcessor", "instance": 4}}', '$.log'),
    (4, '{"log": {"cloud": "gcp836Csd", "app": "ksProcessor", "instance": 4}}', '$.log.region'),
    (5, '{"thing1":{"thing2":"hello"},"array":[101,102]}', '$.array.1'),
    (6, '{"thing1":{"thing2":"hello"},"array":[101,102]}', '$.array[0]'),
    (7, '{"thing1":{"thing2":"hello"},"array":[101,102]}', '$["thing1"]["thing2"]'),
    (8, '{"thing1":{"thing2":"hello"},"array":[101,102]}', '$.array[2]'),
    (9, '{"thing1":{"thing2":"hello"},"array":[101,102]}', '$'),
    (10, '{"@type": "foo", "n": null, "d": 1.50, "e": 1e2, "q": "say \"hi\""}', '$.@type'),
    (11, '{"@type": "foo", "n": null, "d": 1.50, "e": 1e2, "q": "say \"hi\""}', '$.n'),
    (12, '{"@type": "foo", "n": null, "d": 1.50, "e": 1e2, "q": "say \"hi\""}', '$.d'),
    (13, '{"@type": "foo", "n": null, "d": 1.50, "e": 1e2, "q": "say \"hi\""}', '$.e'),
    (14, '{"@type": "foo", "n": null, "d": 1.50, "e": 1e2, "q": "say \"hi\""}', '$.q'),
    (15, '"just text"', '$.a'),
    (16, '', '$.a'),
    (17, NULL, '$.a'),
    (18, '{"a": 1}', NULL);
-- @each-kind
SELECT id, EXTRACTJSONFIELD(doc, path) AS field FROM extract_cases;
-- @each-kind
SELECT id, CAST(EXTRACTJSONFIELD(doc, '$.log.instance') AS INT) AS instance FROM extract_cases WHERE id < 5;

-- IS_JSON_STRING is never NULL; the others answer NULL for NULL, for empty text and for
-- JSON of another kind than theirs. Jackson reads the first value of a text and ignores
-- what follows it, and the last of two equal keys wins in the first's place.
CREATE STREAM json_texts (id BIGINT, txt STRING) WITH (PARTITIONS = 1);
INSERT INTO json_texts (id, txt) VALUES
    (1, '[1, 2, 3]'),
    (2, '[1, [1, [2]], 3]'),
    (3, '[]'),
    (4, '{}'),
    (5, '123'),
    (6, '"abc"'),
    (7, 'null'),
    (8, ''),
    (9, NULL),
    (10, '{"a": "abc", "b": { "c": "a" }, "d": 1}'),
    (11, '{"a": 1, "b": [true, null], "a": 3}'),
    (12, '[1] and then text'),
    (101, 'abc'),
    (102, '{1:2]'),
    (103, '1x');
-- @each-kind
SELECT id, IS_JSON_STRING(txt) AS valid FROM json_texts;
-- @each-kind
SELECT id, JSON_ARRAY_LENGTH(txt) AS length, JSON_KEYS(txt) AS keys, JSON_RECORDS(txt) AS records FROM json_texts WHERE id < 100;

-- JSON_ITEMS: each item of an array as JSON text.
CREATE STREAM json_arrays (id BIGINT, arr STRING) WITH (PARTITIONS = 1);
INSERT INTO json_arrays (id, arr) VALUES
    (1, '[{"type": "A", "ts": "2022-01-27"}, {"type": "B", "ts": "2022-05-18"}]'),
    (2, '[]'),
    (3, '[1, 2, 3]'),
    (4, '["x", null, 1.0E3, {"k": [1]}]'),
    (5, NULL);
-- @each-kind
SELECT id, JSON_ITEMS(arr) AS items FROM json_arrays;

-- JSON_ARRAY_CONTAINS: an item of the same kind and value; INT and BIGINT match integers,
-- DOUBLE numbers with a point or exponent; text that is no array is false.
CREATE STREAM contains_cases (id BIGINT, arr STRING, i INT, big BIGINT, d DOUBLE, s STRING, flag BOOLEAN) WITH (PARTITIONS = 1);
INSERT INTO contains_cases (id, arr, i, big, d, s, flag) VALUES
    (1, '[1, 2, 3]', 3, 3, 3.0, '3', true),
    (2, '[2147483647, {"ab": null}, -2147483648, 1, null, [4], 4]', 4, 5, 4.0, 'ab', false),
    (3, '[1.0, 2.0, 1.6E3]', 1, 1, 1600.0, '1.0', NULL),
    (4, '["abc", "", true]', NULL, NULL, NULL, 'abc', true),
    (5, '[[2.0], {"s": "x"}, false]', 2, 2, 2.0, 'x', false),
    (6, '5', 5, 5, 5.0, '5', true),
    (7, 'not json', 1, 1, 1.0, 'x', true),
    (8, '[]', NULL, NULL, NULL, NULL, NULL),
    (9, '[null]', NULL, NULL, NULL, NULL, NULL);
-- @each-kind
SELECT id, JSON_ARRAY_CONTAINS(arr, i) AS has_int, JSON_ARRAY_CONTAINS(arr, big) AS has_bigint, JSON_ARRAY_CONTAINS(arr, d) AS has_double, JSON_ARRAY_CONTAINS(arr, s) AS has_string, JSON_ARRAY_CONTAINS(arr, flag) AS has_boolean FROM contains_cases;
-- @each-kind
SELECT id, JSON_ARRAY_CONTAINS('[1, 2, 3]', 3) AS documented FROM contains_cases WHERE id = 1;

-- JSON_CONCAT: objects merge key by key, anything else concatenates as arrays; NULL when an
-- argument is NULL or empty.
CREATE STREAM concat_cases (id BIGINT, a STRING, b STRING) WITH (PARTITIONS = 1);
INSERT INTO concat_cases (id, a, b) VALUES
    (1, '{"a": 1}', '{"b": 2}'),
    (2, '{"a": {"5": 6}}', '{"a": {"3": 4}}'),
    (3, '{}', '{}'),
    (4, '[1, 2]', '[3, 4]'),
    (5, '[1, [2]]', '[[[3]], [[[4]]]]'),
    (6, 'null', 'null'),
    (7, '[1, 2]', '{"a": 1}'),
    (8, '[1, 2]', '3'),
    (9, '1', '2'),
    (10, '[]', '[]'),
    (11, NULL, '[1]'),
    (12, '', '[1]'),
    (13, '[1.50, 1e2]', '"a\tb"');
-- @each-kind
SELECT id, JSON_CONCAT(a, b) AS two, JSON_CONCAT(a, b, a) AS three FROM concat_cases;

-- TO_JSON_STRING: any type, as ksqlDB prints it: NULL is 'null', struct fields and map keys
-- sorted, DECIMAL with its scale, BYTES in base64, TIME to the second, TIMESTAMP in UTC.
CREATE STREAM typed (id BIGINT, i INT, big BIGINT, d DOUBLE, amount DECIMAL(10, 5), s STRING, flag BOOLEAN, dt DATE, tm TIME, ts TIMESTAMP, raw BYTES, ints ARRAY<INT>, m MAP<STRING, INT>, st STRUCT<name STRING, id INT>) WITH (PARTITIONS = 1);
INSERT INTO typed (id, i, big, d, amount, s, flag, dt, tm, ts, raw, ints, m, st) VALUES
    (1, 123, 123, 123.456, 0.33333, 'abc', true, '2022-01-20', '06:02:20.588', '2022-01-20T17:06:02.588', X'0010BDBF', make_array(1, 2, 3), map(['d', 'c'], [4, 2]), named_struct('name', 'Alice', 'id', 1)),
    (2, -1, 9223372036854775807, 1e10, 12.3, 'quote " backslash \ tab	end', false, '1970-01-01', '13:25:00', '1969-12-31T23:59:59.999', X'', make_array(NULL, 4), map(['k'], [NULL]), named_struct('name', NULL, 'id', NULL)),
    (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
-- @each-kind
SELECT id, TO_JSON_STRING(i) AS i, TO_JSON_STRING(big) AS big, TO_JSON_STRING(d) AS d, TO_JSON_STRING(amount) AS amount, TO_JSON_STRING(s) AS s, TO_JSON_STRING(flag) AS flag FROM typed;
-- @each-kind
SELECT id, TO_JSON_STRING(dt) AS dt, TO_JSON_STRING(tm) AS tm, TO_JSON_STRING(ts) AS ts, TO_JSON_STRING(raw) AS raw FROM typed;
-- @each-kind
SELECT id, TO_JSON_STRING(ints) AS ints, TO_JSON_STRING(m) AS m, TO_JSON_STRING(st) AS st FROM typed;
-- @each-kind
SELECT id, TO_JSON_STRING(ARRAY[1, 2, 3]) AS list, TO_JSON_STRING(STRUCT(id := 1, name := 'A')) AS person, TO_JSON_STRING(MAP('c' := 2, 'd' := 4)) AS counts, TO_JSON_STRING(ARRAY[STRUCT(json_key := 1, json_value := MAP('c' := 2, 'd' := 3))]) AS nested FROM typed WHERE id = 1;

-- Where ksqlDB's function throws, the row is set aside with the reason: text that is not
-- JSON (but for IS_JSON_STRING and JSON_ARRAY_CONTAINS), JSON_ITEMS of anything but an
-- array, and a JSONPath ksqlDB cannot read.
CREATE STREAM lengths AS SELECT id, JSON_ARRAY_LENGTH(txt) AS length FROM json_texts WHERE id > 100;
CREATE STREAM item_lists AS SELECT id, JSON_ITEMS(txt) AS items FROM json_texts WHERE id IN (4, 7, 8);
CREATE STREAM bad_paths AS SELECT id, EXTRACTJSONFIELD(doc, '$[''thing1'']') AS field FROM extract_cases WHERE id = 5;
-- @settle
SELECT id, length FROM lengths;
SELECT message FROM eddy_processing_log WHERE query_id LIKE 'CSAS_LENGTHS%';
SELECT message FROM eddy_processing_log WHERE query_id LIKE 'CSAS_ITEM_LISTS%';
SELECT message FROM eddy_processing_log WHERE query_id LIKE 'CSAS_BAD_PATHS%';
