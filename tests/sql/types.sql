-- Named types (ksqlDB's CREATE TYPE): usable wherever a type is written, kept across a
-- restart, resolved when a statement is planned.
CREATE TYPE Address AS STRUCT<number INTEGER, street VARCHAR, city VARCHAR>;
CREATE TYPE person AS STRUCT<name VARCHAR, home ADDRESS>;
CREATE TYPE ids AS ARRAY<BIGINT>;
CREATE TYPE tags AS MAP<STRING, INT>;
LIST TYPES;
SHOW TYPES;
-- In column definitions, alone and nested.
CREATE STREAM people (id BIGINT KEY, who person, homes ARRAY<address>, friends ids, labels tags);
DESCRIBE people;
INSERT INTO people VALUES (1, STRUCT(name := 'ada', home := STRUCT(number := 12, street := 'st james sq', city := 'london')), ARRAY[STRUCT(number := 1, street := 'a', city := 'b')], ARRAY[2, 3], MAP('x' := 1));
SELECT id, who->name, who->home->city, homes[1]->street, friends, labels['x'] FROM people;
-- In casts, alone and nested.
SELECT CAST(STRUCT(number := 5, street := 'x', city := 'y') AS address) AS a;
SELECT CAST(ARRAY[1, 2] AS ids) AS i, CAST(ARRAY[STRUCT(number := 7, street := 's', city := 'c')] AS ARRAY<Address>) AS homes;
SELECT CAST(ARRAY['1'] AS ids) AS i, CAST(MAP('a' := 1.0) AS tags) AS m;
SELECT CAST(1 AS nope);
-- Errors: a name taken, a built-in name, an unknown type, OR REPLACE.
CREATE TYPE address AS STRING;
CREATE TYPE IF NOT EXISTS address AS STRING;
CREATE TYPE int AS STRING;
CREATE TYPE text AS STRING;
CREATE TYPE broken AS ARRAY<missing>;
CREATE STREAM bad (a missing);
CREATE STREAM bad (a FLOAT);
CREATE OR REPLACE TYPE address AS STRING;
-- Dropping a type leaves the sources that used it as they are (ksqlDB's rule); the name
-- can then be given to another type.
DROP TYPE person;
DROP TYPE person;
DROP TYPE IF EXISTS person;
DESCRIBE people;
CREATE STREAM later (a person);
CREATE TYPE person AS STRING;
SELECT CAST(42 AS person) AS p;
-- @restart
SHOW TYPES;
CREATE STREAM after_restart (k INT KEY, a address);
INSERT INTO after_restart VALUES (1, STRUCT(number := 1, street := 'x', city := 'y'));
SELECT k, a FROM after_restart;
SELECT id, who->home->city FROM people;
-- A running query that casts to a named type keeps it: the query is planned again from its
-- text at every start.
INSERT INTO after_restart VALUES (2, CAST(STRUCT(number := 2, street := 'a', city := 'b') AS address));
CREATE STREAM homes AS SELECT k, CAST(ARRAY[a] AS ARRAY<address>) AS homes FROM after_restart;
DROP TYPE address;
-- @settle
-- @restart
SELECT k, homes FROM homes;
TERMINATE ALL;
DROP TYPE address;
SHOW TYPES;
