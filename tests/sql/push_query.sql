-- Push queries: rows as they arrive, from the end of the stream by default or from the
-- beginning with auto.offset.reset = earliest; LIMIT ends them.
CREATE STREAM pageviews (page STRING KEY, ms BIGINT) WITH (PARTITIONS = 2);
INSERT INTO pageviews VALUES ('/before', 1);
-- @push 2
SELECT page, ms * 2 AS doubled FROM pageviews WHERE ms > 10 EMIT CHANGES;
INSERT INTO pageviews VALUES ('/fast', 5), ('/slow', 50);
INSERT INTO pageviews VALUES ('/slower', 500);
-- @await-push
-- From the beginning: LIMIT ends a push query over rows already there.
SET 'auto.offset.reset' = 'earliest';
SELECT page, rowpartition >= 0 AS has_partition FROM pageviews EMIT CHANGES LIMIT 4;
SELECT page FROM pageviews WHERE ms > 10 EMIT CHANGES LIMIT 2;
COPY (SELECT page, ms FROM pageviews WHERE ms < 100 EMIT CHANGES LIMIT 3) TO STDOUT;
SELECT page FROM pageviews EMIT CHANGES LIMIT 0;
-- Push queries over a stream written by a persistent query.
CREATE STREAM slow AS SELECT page, ms FROM pageviews WHERE ms >= 50;
-- @push 1
SELECT page FROM slow WHERE ms > 1000 EMIT CHANGES;
INSERT INTO pageviews VALUES ('/slowest', 5000);
-- @await-push
-- A push query may aggregate: each change of a group comes as the group's new row, with
-- op = upsert (op = delete when a group has no rows left). Its groups start empty at the
-- end of the stream; a page's rows share a partition, so each group's rows arrive together.
-- @push 2
SELECT page, COUNT(*) AS views, MAX(ms) AS slowest FROM pageviews WHERE page LIKE '/slow%' GROUP BY page EMIT CHANGES;
INSERT INTO pageviews VALUES ('/slow', 70), ('/fast', 1), ('/slow', 80), ('/slower', 900);
-- @await-push
SELECT page FROM pageviews EMIT FINAL;
SELECT page FROM pageviews PARTITION BY page EMIT CHANGES;
