-- ARRAY and STRUCT keys (ksqlDB allows both, not MAP): a table's PRIMARY KEY, a stream's
-- KEY, a GROUP BY and a PARTITION BY; equal keys are one key however they are written.
CREATE TABLE places (k STRUCT<a INT, b STRING> PRIMARY KEY, v INT) WITH (PARTITIONS = 2);
INSERT INTO places (k, v) VALUES (STRUCT(a := 1, b := 'x'), 10), (STRUCT(a := 2, b := 'y'), 20), (STRUCT(a := 1, b := NULL), 30);
INSERT INTO places (k, v) VALUES (STRUCT(a := 1, b := 'x'), 11);
SELECT k, v FROM places;
SELECT v FROM places WHERE k = STRUCT(a := 1, b := 'x');
SELECT v FROM places WHERE k->a = 1;
INSERT INTO places (k, v) VALUES (NULL, 1);
DELETE FROM places WHERE k = STRUCT(a := 2, b := 'y');
SELECT k, v FROM places;
CREATE STREAM paths (k ARRAY<INT> KEY, v STRING) WITH (PARTITIONS = 4);
INSERT INTO paths VALUES (ARRAY[1, 2], 'a'), (ARRAY[3], 'b'), (ARRAY[1, 2], 'c'), (ARRAY[], 'd'), (ARRAY[1, NULL], 'e');
SELECT k, COUNT(DISTINCT rowpartition) AS partitions, COLLECT_LIST(v) AS vs FROM paths GROUP BY k;
SELECT v FROM paths WHERE k = ARRAY[1, 2];
-- A table keyed by an ARRAY, and one by a STRUCT made by GROUP BY.
CREATE TABLE routes (k ARRAY<STRING> PRIMARY KEY, hops INT);
INSERT INTO routes (k, hops) VALUES (ARRAY['a', 'b'], 1), (ARRAY['a'], 2), (ARRAY['a', 'b'], 3);
SELECT k, hops FROM routes;
SELECT hops FROM routes WHERE k = ARRAY['a', 'b'];
CREATE STREAM events (id INT KEY, who STRUCT<name STRING, team STRING>, tags ARRAY<STRING>, n INT) WITH (PARTITIONS = 2);
INSERT INTO events VALUES (1, STRUCT(name := 'ada', team := 'x'), ARRAY['p'], 5), (2, STRUCT(name := 'bob', team := 'y'), ARRAY['p', 'q'], 7), (3, STRUCT(name := 'ada', team := 'x'), ARRAY['p'], 1);
CREATE TABLE per_who AS SELECT who, COUNT(*) AS c, SUM(n) AS total FROM events GROUP BY who;
CREATE STREAM by_tags AS SELECT tags, id, n FROM events PARTITION BY tags;
-- @settle
SELECT who, c, total FROM per_who;
SELECT c, total FROM per_who WHERE who = STRUCT(name := 'ada', team := 'x');
DESCRIBE per_who;
SELECT tags, id, n FROM by_tags;
DESCRIBE by_tags;
-- A push query's GROUP BY keeps its state under the same keys.
-- @push 1
SELECT tags, COUNT(*) AS c FROM events WHERE id > 10 GROUP BY tags EMIT CHANGES;
INSERT INTO events VALUES (11, STRUCT(name := 'cy', team := 'z'), ARRAY['r', 's'], 1);
-- @await-push
-- MAP keys stay refused.
CREATE TABLE m (k MAP<STRING, INT> PRIMARY KEY, v INT);
CREATE STREAM ms (k MAP<STRING, INT> KEY, v INT);
CREATE TABLE mm (k STRUCT<m MAP<STRING, INT>> PRIMARY KEY, v INT);
CREATE STREAM with_map (id INT KEY, m MAP<STRING, INT>);
CREATE TABLE per_map AS SELECT m, COUNT(*) AS c FROM with_map GROUP BY m;
CREATE STREAM by_map AS SELECT m, id FROM with_map PARTITION BY m;
-- Keys are found again after a restart: an upsert replaces, a later group adds up.
-- @restart
INSERT INTO places (k, v) VALUES (STRUCT(a := 1, b := 'x'), 12);
SELECT k, v FROM places;
INSERT INTO events VALUES (4, STRUCT(name := 'ada', team := 'x'), ARRAY['q'], 100);
-- @settle
SELECT who, c, total FROM per_who;
SELECT tags, id FROM by_tags WHERE tags = ARRAY['q'];
