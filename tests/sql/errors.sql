-- Errors: each with its SQLSTATE and a message that says what to do; none stops the session.
SELEC 1;
SELECT * FORM clicks;
SELECT 1; SELEC 2;
CREATE STREAM s (a INT);
SELECT b FROM s;
SELECT * FROM missing;
SELECT a + 'x' FROM s;
INSERT INTO s VALUES ('not a number');
INSERT INTO s VALUES (99999999999);
SELECT CAST('abc' AS INT);
SELECT 1 / 0;
DESCRIBE missing;
DROP STREAM missing;
TERMINATE missing;
UPDATE s SET a = 1;
DELETE FROM s WHERE a = 1;
CREATE TYPE address AS FLOAT;
EXPLAIN SELECT * FROM missing;
COPY s FROM '/tmp/s.csv';
COPY s FROM STDIN WITH (FORMAT binary);
COPY s FROM STDIN WITH (FORMAT csv, DELIMITER ';;');
COPY missing FROM STDIN;
SELECT * FROM s JOIN s t ON s.a = t.a EMIT CHANGES;
SELECT a FROM s;

-- A `=>` that is no lambda's is a syntax error.
CREATE STREAM arrays (id BIGINT, xs ARRAY<BIGINT>);
SELECT TRANSFORM(xs, 1 => 2) FROM arrays;
SELECT '=>' AS arrow_in_text FROM arrays;
