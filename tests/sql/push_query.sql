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
SELECT page, COUNT(*) FROM pageviews GROUP BY page EMIT CHANGES;
SELECT page FROM pageviews EMIT FINAL;
SELECT page FROM pageviews PARTITION BY page EMIT CHANGES;
