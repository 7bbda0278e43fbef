-- Transaction blocks, savepoints, DISCARD and empty queries, answered as Postgres 15 does.
-- Eddy's statements each commit on their own: a block undoes nothing, but its states and
-- errors are Postgres', because drivers recover from errors with them.
CREATE STREAM events (id BIGINT KEY, note STRING) WITH (PARTITIONS = 1);
-- Savepoints outside a block are errors.
SAVEPOINT outside;
RELEASE SAVEPOINT outside;
ROLLBACK TO SAVEPOINT outside;
-- psycopg 3 inside a block: SAVEPOINT, a statement, RELEASE.
BEGIN;
SAVEPOINT "_pg3_1";
INSERT INTO events VALUES (1, 'kept');
RELEASE "_pg3_1";
COMMIT;
-- An error fails the block: everything but its exits is refused until ROLLBACK TO, which
-- ends the failed state (the INSERT before the error stays committed).
BEGIN;
SAVEPOINT before_error;
INSERT INTO events VALUES (2, 'stays');
SELECT * FROM no_such_stream;
SELECT 1 AS refused;
RELEASE before_error;
ROLLBACK TO SAVEPOINT before_error;
SELECT 1 AS accepted_again;
ROLLBACK TO unknown;
-- The COMMIT of a failed block answers ROLLBACK.
COMMIT;
SELECT id, note FROM events;
-- Names fold like other names; RELEASE forgets the savepoint and those after it.
BEGIN;
SAVEPOINT Outer_Point;
SAVEPOINT inner_point;
RELEASE outer_point;
ROLLBACK TO inner_point;
ROLLBACK;
-- BEGIN inside a block and COMMIT outside one warn.
BEGIN;
BEGIN;
COMMIT;
COMMIT;

-- A block's modes, as SET SESSION CHARACTERISTICS' are: READ ONLY refuses writes until the
-- block ends; READ COMMITTED is what each statement gives; REPEATABLE READ and
-- SERIALIZABLE, which a block's statements would need one snapshot for, are refused.
BEGIN READ ONLY;
SHOW transaction_read_only;
INSERT INTO events VALUES (3, 'refused');
ROLLBACK;
SHOW transaction_read_only;
START TRANSACTION ISOLATION LEVEL READ COMMITTED, READ WRITE;
INSERT INTO events VALUES (3, 'written');
COMMIT;
BEGIN ISOLATION LEVEL SERIALIZABLE;
START TRANSACTION ISOLATION LEVEL REPEATABLE READ;
-- SET TRANSACTION changes the open block; outside one it warns and changes nothing.
BEGIN;
SET TRANSACTION READ ONLY;
DELETE FROM events WHERE id = 3;
COMMIT;
SET TRANSACTION READ ONLY;
INSERT INTO events VALUES (4, 'written');
SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;
BEGIN;
SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;
ROLLBACK;
-- A session that is read only by default can open a block that writes.
SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY;
BEGIN READ WRITE;
INSERT INTO events VALUES (5, 'written');
COMMIT;
INSERT INTO events VALUES (6, 'refused');
SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE;
SELECT id, note FROM events;

-- DEALLOCATE drops a statement the client prepared (psycopg 3 sends it); one it never
-- prepared is an error, as in Postgres.
DEALLOCATE PREPARE never_prepared;
DEALLOCATE ALL;

-- DISCARD ALL (connection pools) resets the session's settings; not inside a block.
SET application_name = 'pooled';
SET 'auto.offset.reset' = 'earliest';
BEGIN;
DISCARD ALL;
ROLLBACK;
DISCARD ALL;
SHOW application_name;
SHOW PROPERTIES;
DISCARD PLANS;
DISCARD SEQUENCES;
DISCARD TEMP;
-- RESET ALL does the same.
SET application_name = 'again';
RESET ALL;
SHOW application_name;
-- SET SESSION CHARACTERISTICS (Metabase, pgjdbc's setReadOnly) sets the defaults of the
-- transactions to come, which SHOW reports. Eddy's statements read what is committed when
-- they start: READ COMMITTED (and READ UNCOMMITTED, which Postgres runs as it) are honoured,
-- REPEATABLE READ and SERIALIZABLE refused; READ ONLY refuses every statement that writes.
SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ UNCOMMITTED;
SHOW transaction_isolation;
SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED;
SHOW TRANSACTION ISOLATION LEVEL;
SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL SERIALIZABLE;
SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE, ISOLATION LEVEL REPEATABLE READ;
SHOW default_transaction_isolation;
SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY, NOT DEFERRABLE;
SHOW transaction_read_only;
SHOW default_transaction_deferrable;
INSERT INTO events VALUES (3, 'refused');
CREATE STREAM refused (id BIGINT);
SELECT id, note FROM events;
SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE;
SHOW transaction_read_only;
INSERT INTO events VALUES (3, 'written');
SET default_transaction_read_only = 'maybe';
SET SESSION CHARACTERISTICS AS TRANSACTION;
-- A query of only comments or semicolons is empty (pgx pings with "-- ping").
;
/* nothing */;
-- The settings clients read.
SHOW server_encoding;
SHOW client_encoding;
SHOW DateStyle;
SHOW TimeZone;
SHOW integer_datetimes;
SHOW TRANSACTION ISOLATION LEVEL;
SHOW default_transaction_read_only;
SHOW search_path;
SHOW max_identifier_length;
SHOW is_superuser;
SHOW server_version_num;
SHOW ALL;
