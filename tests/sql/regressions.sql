-- Bugs found by using Eddy as its users do, each kept here once fixed, with what went wrong.

-- COALESCE in a persistent query sent every row to eddy_processing_log ("coalesce should
-- have been simplified to case") and left the derived stream empty; a push query failed
-- the same way. Persistent and push queries now simplify expressions as pull queries do.
CREATE STREAM ev (id BIGINT, a BIGINT);
INSERT INTO ev (id, a, rowtime) VALUES (1, 5, 1000), (2, NULL, 2000);
CREATE STREAM filled AS SELECT id, COALESCE(a, -1) AS x FROM ev;
-- @wait-rows filled 2
SELECT id, x, rowtime FROM filled;
SET 'auto.offset.reset' = 'earliest';
SELECT id, COALESCE(a, -1) AS x FROM ev EMIT CHANGES LIMIT 2;
SELECT COUNT(*) AS set_aside FROM eddy_processing_log;

-- INSERT INTO .. SELECT .. LIMIT was accepted and its LIMIT ignored: every row went in.
CREATE STREAM merged (id BIGINT, a BIGINT);
INSERT INTO merged SELECT id, a FROM ev LIMIT 1;

-- An INSERT INTO .. SELECT query restarts with its target's rules and goes on.
INSERT INTO merged SELECT id, a FROM ev WHERE a IS NOT NULL;
-- @wait-rows merged 1
-- @restart
INSERT INTO ev (id, a, rowtime) VALUES (3, 7, 3000);
-- @wait-rows merged 2
SELECT id, a FROM merged;
-- @settle
SHOW QUERIES;
