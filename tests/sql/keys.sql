-- ksqlDB's key rules for persistent queries: PARTITION BY any expression, the key each
-- result takes and its column order (key columns first), and the projection rules with
-- ksqlDB's messages. Cases follow ksqlDB's partition-by query-validation tests.

CREATE STREAM input (id INT KEY, name STRING, age INT,
    address STRUCT<street STRING, town STRING>) WITH (PARTITIONS = 2);
INSERT INTO input (id, name, age, address) VALUES
    (1, 'ann', 30, STRUCT(street := 'elm', town := 'oslo')),
    (2, 'bob', 40, STRUCT(street := 'oak', town := 'bergen')),
    (3, NULL, 50, NULL);

-- `*` partitioned by a value column: the new key first, then the value columns, then the
-- old key as a value.
CREATE STREAM by_name AS SELECT * FROM input PARTITION BY name;
-- @wait-rows by_name 3
DESCRIBE by_name;
SELECT * FROM by_name;

-- An explicit SELECT list: the key column moves to the front, the rest keep their order.
CREATE STREAM by_name_explicit AS SELECT id, name, age FROM input PARTITION BY name;
-- @wait-rows by_name_explicit 3
DESCRIBE by_name_explicit;

-- A struct field: the key takes the field's name, or the item's alias.
CREATE STREAM by_town AS SELECT * FROM input PARTITION BY address->town;
-- @wait-rows by_town 3
DESCRIBE by_town;
SELECT town, id FROM by_town;
CREATE STREAM by_town_alias AS SELECT address->town AS k, id, age FROM input PARTITION BY address->town;
-- @wait-rows by_town_alias 3
DESCRIBE by_town_alias;

-- Any expression: `*` names it KSQL_COL_0; an explicit item keeps its name or alias.
CREATE STREAM by_abs AS SELECT * FROM input PARTITION BY ABS(id) * 10;
-- @wait-rows by_abs 3
DESCRIBE by_abs;
SELECT ksql_col_0, id FROM by_abs;
CREATE STREAM by_upper AS SELECT UCASE(name) AS new_key, name, id FROM input PARTITION BY UCASE(name);
-- @wait-rows by_upper 3
DESCRIBE by_upper;
SELECT * FROM by_upper;

-- Several expressions make a key of several columns, in PARTITION BY order.
CREATE STREAM by_two AS SELECT * FROM input PARTITION BY age, name;
-- @wait-rows by_two 3
DESCRIBE by_two;
CREATE STREAM by_exprs AS SELECT ABS(id), 1, age + 2 AS k3, age, name FROM input PARTITION BY ABS(id), 1, age + 2;
-- @wait-rows by_exprs 3
DESCRIBE by_exprs;
SELECT * FROM by_exprs;

-- ROWTIME: the key is named KSQL_COL_0 (ROWTIME stays each row's pseudo-column).
CREATE STREAM by_time AS SELECT * FROM input PARTITION BY ROWTIME;
-- @wait-rows by_time 3
DESCRIBE by_time;
SELECT COUNT(*) AS n FROM by_time WHERE ksql_col_0 = ROWTIME;

-- PARTITION BY NULL: a result without key; the old key is a value column.
CREATE STREAM keyless AS SELECT * FROM input PARTITION BY NULL;
-- @wait-rows keyless 3
DESCRIBE keyless;

-- A stream without PARTITION BY keeps its input's key, first.
CREATE STREAM same_key AS SELECT name, id FROM input;
-- @wait-rows same_key 3
DESCRIBE same_key;

-- A table's key is its GROUP BY, first.
CREATE TABLE per_age AS SELECT COUNT(*) AS n, age FROM input GROUP BY age;
-- @wait-rows per_age 3
DESCRIBE per_age;

-- The rules, with ksqlDB's messages.
CREATE STREAM missing_key AS SELECT name, id FROM input PARTITION BY ABS(id);
CREATE STREAM missing_keys AS SELECT name FROM input PARTITION BY id, age;
CREATE STREAM twice AS SELECT name, name AS name2, id FROM input PARTITION BY name;
CREATE STREAM no_value AS SELECT name FROM input PARTITION BY name;
CREATE STREAM alias_is_no_column AS SELECT id, name AS something FROM input PARTITION BY something;
CREATE STREAM unknown AS SELECT id, name FROM input PARTITION BY nope;
CREATE STREAM null_and_more AS SELECT id, name FROM input PARTITION BY NULL, id;
CREATE STREAM input_key_missing AS SELECT name, age FROM input;
CREATE STREAM input_key_twice AS SELECT id, id AS id2, name FROM input;
CREATE TABLE group_key_missing AS SELECT COUNT(*) AS n FROM input GROUP BY age;
CREATE TABLE group_key_twice AS SELECT age, age AS a2, COUNT(*) AS n FROM input GROUP BY age;
CREATE TABLE no_aggregate AS SELECT age FROM input GROUP BY age;
CREATE TABLE only_key AS SELECT age FROM input GROUP BY age HAVING COUNT(*) > 1;
CREATE TABLE partitioned_table AS SELECT age, COUNT(*) AS n FROM input GROUP BY age PARTITION BY age;
CREATE TABLE aggregate_in_group_by AS SELECT COUNT(*) AS n FROM input GROUP BY COUNT(*);
CREATE TABLE ungrouped_select AS SELECT age, name, COUNT(*) AS n FROM input GROUP BY age;
CREATE TABLE ungrouped_having AS SELECT age, COUNT(*) AS n FROM input GROUP BY age HAVING name = 'x';
-- Pull queries follow the same GROUP BY rules.
SELECT age, COUNT(*) AS n FROM input GROUP BY age, SUM(id);
SELECT age, name, COUNT(*) AS n FROM input GROUP BY age;
