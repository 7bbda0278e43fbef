-- ksqlDB's projection rules: what `*` and `col->*` expand to, and the names of SELECT items
-- without an alias.

CREATE STREAM people (id BIGINT KEY, name STRING, street STRING, ksql_col_1 BIGINT,
    address STRUCT<street STRING, city STRING, geo STRUCT<lat DOUBLE, lon DOUBLE>>)
    WITH (PARTITIONS = 1);
INSERT INTO people (id, name, street, ksql_col_1, address) VALUES
    (1, 'ann', 'main', 7, named_struct('street', 'elm', 'city', 'oslo', 'geo', named_struct('lat', 59.9, 'lon', 10.7)));

-- Unnamed expressions count from ksql_col_0 over the unnamed expressions alone, skipping a
-- number a source column holds (ksql_col_1 here).
CREATE STREAM named AS SELECT id, UPPER(name), name, LENGTH(name), id + 1 FROM people;
-- @wait-rows named 1
DESCRIBE named;

-- A struct field takes the field's name; `_1`, `_2` when a source column or an earlier item
-- has it.
CREATE STREAM fields AS SELECT id, address->street, address->city, address->geo->lat, address->city FROM people;
-- @wait-rows fields 1
DESCRIBE fields;
SELECT * FROM fields;

-- `col->*` is every field of the struct, named by the field.
SELECT address->* FROM people;
SELECT id, address->geo->* FROM people;
SELECT people.address->geo->* FROM people;
CREATE STREAM flat AS SELECT id, address->* FROM people;
-- @wait-rows flat 1
DESCRIBE flat;

-- `->*` of a column that is no struct is an error, as is a struct that has no such field.
SELECT name->* FROM people;
SELECT address->nope->* FROM people;

-- GROUP BY (a, b) groups by both columns, as GROUP BY a, b does.
CREATE TABLE by_pair AS SELECT name, street, COUNT(*) FROM people GROUP BY (name, street);
-- @wait-rows by_pair 1
SELECT * FROM by_pair;
SELECT name, street, COUNT(*) AS n FROM people GROUP BY (name, street);

-- `+` between two strings concatenates them, NULL if either is NULL; between numbers it adds.
INSERT INTO people (id, name, street) VALUES (2, 'bob', NULL);
-- @each-kind
SELECT id, name + '@' + street AS label, id + 1 AS next FROM people;
SELECT name + 1 AS nonsense FROM people;

-- AS_VALUE(key) selects a key column a second time as an ordinary value column.
CREATE STREAM with_copy AS SELECT id, AS_VALUE(id) AS id_value, name FROM people;
-- @wait-rows with_copy 2
DESCRIBE with_copy;
SELECT * FROM with_copy;
