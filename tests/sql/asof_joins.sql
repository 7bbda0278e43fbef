-- ASOF joins: each left (probe) row joins the right (build) row of its key with the latest
-- time at or before its own (before it, for < or >); on a tie, the right row that came last.
-- Into a stream (final mode) a left row waits until the right side's stream time less the
-- grace period (default 0) has passed its time, then joins once and is never retracted; into
-- a GROUP BY's table (incremental mode) it joins at once, and a right row that comes later
-- re-matches it (-old +new).
CREATE STREAM trades (sym STRING KEY, qty BIGINT) WITH (PARTITIONS = 2);
CREATE STREAM quotes (sym STRING KEY, price BIGINT) WITH (PARTITIONS = 3);

-- RisingWave's spelling: the comparison is a term of ON.
CREATE STREAM priced AS
    SELECT t.sym, qty, price, q.rowtime AS quoted FROM trades t
    ASOF JOIN quotes q ON t.sym = q.sym AND q.rowtime <= t.rowtime;
-- RisingWave's LEFT spelling, the comparison turned around and strict: equal times do not
-- match.
CREATE STREAM priced_before AS
    SELECT t.sym, qty, price, q.rowtime AS quoted FROM trades t
    ASOF LEFT JOIN quotes q ON t.rowtime > q.rowtime AND t.sym = q.sym;
-- Feldera's and Snowflake's spellings: the comparison in MATCH_CONDITION.
CREATE STREAM priced_match AS
    SELECT t.sym, qty, price, q.rowtime AS quoted FROM trades t
    ASOF JOIN quotes q MATCH_CONDITION(t.rowtime >= q.rowtime) ON t.sym = q.sym;
CREATE STREAM priced_left_match AS
    SELECT t.sym, qty, price, q.rowtime AS quoted FROM trades t
    LEFT ASOF JOIN quotes q MATCH_CONDITION(t.rowtime >= q.rowtime) ON t.sym = q.sym;
-- A GROUP BY over an ASOF join makes a table: incremental, with a minute of grace.
CREATE TABLE notional AS
    SELECT t.sym, SUM(qty * price) AS total, COUNT(*) AS trades FROM trades t
    ASOF JOIN quotes q GRACE PERIOD 1 MINUTE ON t.sym = q.sym AND q.rowtime <= t.rowtime
    GROUP BY t.sym;
DESCRIBE priced;

INSERT INTO quotes (sym, price, rowtime) VALUES ('A', 10, 1000), ('A', 11, 2000), ('B', 20, 2000);
-- @settle
-- Two quotes of A at 3000: the one that came last wins the tie.
INSERT INTO quotes (sym, price, rowtime) VALUES ('A', 12, 3000);
-- @settle
INSERT INTO quotes (sym, price, rowtime) VALUES ('A', 13, 3000);
-- @settle
-- Trades in time order: one behind its stream's own time would be late.
INSERT INTO trades (sym, qty, rowtime) VALUES ('A', 1, 3000), ('B', 3, 3000), ('C', 4, 3000);
-- @settle
INSERT INTO trades (sym, qty, rowtime) VALUES ('A', 2, 3500);
-- @settle
-- The quotes' stream time is 3000: every trade still waits (a quote at 3000 may come).
SELECT sym, qty, price, quoted, rowtime FROM priced;
-- Strict: a trade at 3000 only needs quotes before 3000, so it is out already: the quote of
-- A at 2000, of B at 2000, and none for C, which LEFT pads.
SELECT sym, qty, price, quoted, rowtime FROM priced_before;
-- Incremental: every trade with a quote is in at once.
SELECT sym, total, trades FROM notional;

-- Stream time moves to 5000: the waiting trades join the last quote at or before them.
INSERT INTO quotes (sym, price, rowtime) VALUES ('B', 21, 5000);
-- @settle
SELECT sym, qty, price, quoted, rowtime FROM priced;
SELECT sym, qty, price, quoted, rowtime FROM priced_match;
SELECT sym, qty, price, quoted, rowtime FROM priced_left_match;

-- A quote behind stream time is late for the streams (grace 0; processing log): their rows
-- never change. The table's grace of a minute takes it: the trade at 3500 now joins it
-- instead of the quote at 3000 (-old +new in the sum). A trade behind stream time is late
-- for all of them.
INSERT INTO quotes (sym, price, rowtime) VALUES ('A', 100, 3200);
-- @settle
INSERT INTO trades (sym, qty, rowtime) VALUES ('A', 6, 2500);
-- @settle
SELECT sym, qty, price, quoted FROM priced WHERE sym = 'A';
SELECT sym, total, trades FROM notional;
SELECT message FROM eddy_processing_log WHERE query_id = 'CSAS_PRICED_4';
SELECT message FROM eddy_processing_log WHERE query_id = 'CTAS_NOTIONAL_12';

-- A trade waits across a restart, and joins the quote that comes after it.
INSERT INTO trades (sym, qty, rowtime) VALUES ('B', 5, 30000);
-- @settle
-- @restart
INSERT INTO quotes (sym, price, rowtime) VALUES ('B', 22, 25000), ('B', 23, 31000);
-- @settle
SELECT sym, qty, price, quoted, rowtime FROM priced WHERE sym = 'B';
SELECT sym, total, trades FROM notional WHERE sym = 'B';

-- The times may be BIGINT or TIMESTAMP columns; GRACE PERIOD lets the right side be that
-- late before a left row joins.
CREATE STREAM orders (id BIGINT KEY, cur STRING, ts TIMESTAMP);
CREATE STREAM rates (cur STRING KEY, rate DOUBLE, ts TIMESTAMP);
CREATE STREAM converted AS
    SELECT o.id, o.cur, rate FROM orders o
    ASOF JOIN rates r GRACE PERIOD 1 SECOND ON o.cur = r.cur AND r.ts <= o.ts;
INSERT INTO rates (cur, rate, ts) VALUES ('EUR', 1.1, '2026-01-01 00:00:00'), ('EUR', 1.2, '2026-01-01 00:00:05');
-- @settle
INSERT INTO orders (id, cur, ts) VALUES (1, 'EUR', '2026-01-01 00:00:03');
-- @settle
INSERT INTO orders (id, cur, ts) VALUES (2, 'EUR', '2026-01-01 00:00:04.800');
-- @settle
-- Stream time 00:00:05 less a second of grace has passed order 1 only.
SELECT id, cur, rate FROM converted;
-- A rate behind stream time but within grace still counts for order 2.
INSERT INTO rates (cur, rate, ts) VALUES ('EUR', 1.15, '2026-01-01 00:00:04.500'), ('EUR', 1.3, '2026-01-01 00:00:07');
-- @settle
SELECT id, cur, rate FROM converted;

-- A table on the right is its current rows: each left row joins the table's row as it
-- stands once the table's stream time (its rows' latest time) has passed it; a row the table
-- replaced is gone (join a stream of versions to keep them).
CREATE TABLE prices (sym STRING PRIMARY KEY, price BIGINT);
CREATE STREAM priced_by_table AS
    SELECT t.sym, qty, price FROM trades t
    ASOF LEFT JOIN prices p ON t.sym = p.sym AND p.rowtime <= t.rowtime WHERE t.sym IN ('T', 'U');
INSERT INTO prices (sym, price, rowtime) VALUES ('T', 1, 100000), ('U', 1, 100000);
-- @settle
INSERT INTO trades (sym, qty, rowtime) VALUES ('T', 1, 100500), ('U', 2, 100500), ('T', 3, 99000);
-- @settle
INSERT INTO prices (sym, price, rowtime) VALUES ('T', 2, 101000);
-- @settle
SELECT sym, qty, price FROM priced_by_table;

-- Under a GROUP BY, a table on the right is incremental: a price row that changes re-prices
-- the trades it now precedes (the state keeps every trade: EXPLAIN says unbounded).
CREATE TABLE table_notional AS
    SELECT t.sym, SUM(qty * price) AS total FROM trades t
    ASOF JOIN prices p ON t.sym = p.sym AND p.rowtime <= t.rowtime
    WHERE t.sym IN ('T', 'U') GROUP BY t.sym;
-- @settle
SELECT sym, total FROM table_notional;
INSERT INTO prices (sym, price, rowtime) VALUES ('U', 5, 100200), ('T', 7, 100400);
-- @settle
SELECT sym, total FROM table_notional;
EXPLAIN CTAS_TABLE_NOTIONAL_21;

-- INSERT INTO .. SELECT runs it as CREATE STREAM .. AS SELECT does. Lateness is judged
-- against stream time as each epoch starts: this query reads both streams from their start in
-- one epoch, so the quote at 3200 and the trade at 2500, late for `priced`, are on time here.
CREATE STREAM fills (sym STRING KEY, qty BIGINT, price BIGINT);
INSERT INTO fills SELECT t.sym, qty, price FROM trades t
    ASOF JOIN quotes q ON t.sym = q.sym AND q.rowtime <= t.rowtime;
-- @settle
SELECT sym, qty, price FROM fills WHERE sym = 'A';

-- A push query over an ASOF join: final, as a persistent query into a stream.
-- @push 2
SELECT t.sym, qty, price FROM trades t ASOF JOIN quotes q ON t.sym = q.sym AND q.rowtime <= t.rowtime EMIT CHANGES;
INSERT INTO quotes (sym, price, rowtime) VALUES ('P', 1, 200000);
INSERT INTO trades (sym, qty, rowtime) VALUES ('P', 7, 200500), ('P', 8, 201500), ('P', 9, 199000);
INSERT INTO quotes (sym, price, rowtime) VALUES ('P', 2, 201000), ('P', 3, 202000);
-- @await-push

-- EXPLAIN shows each mode and its state's bound.
EXPLAIN CREATE STREAM explained AS
    SELECT t.sym, qty, price FROM trades t ASOF JOIN quotes q ON t.sym = q.sym AND q.rowtime < t.rowtime;
EXPLAIN CREATE TABLE explained AS
    SELECT t.sym, SUM(price) AS total FROM trades t
    ASOF JOIN quotes q MATCH_CONDITION(t.rowtime >= q.rowtime) ON t.sym = q.sym GROUP BY t.sym;

-- What an ASOF join is not.
CREATE STREAM bad AS SELECT t.sym, price FROM trades t RIGHT ASOF JOIN quotes q ON t.sym = q.sym AND q.rowtime <= t.rowtime;
CREATE STREAM bad AS SELECT t.sym, price FROM trades t ASOF JOIN quotes q ON t.sym = q.sym;
CREATE STREAM bad AS SELECT t.sym, price FROM trades t ASOF JOIN quotes q ON q.rowtime <= t.rowtime;
CREATE STREAM bad AS SELECT t.sym, price FROM trades t ASOF JOIN quotes q
    ON t.sym = q.sym AND q.rowtime <= t.rowtime AND q.price > 10;
CREATE STREAM bad AS SELECT t.sym, price FROM trades t ASOF JOIN quotes q ON t.sym = q.sym AND q.rowtime >= t.rowtime;
CREATE STREAM bad AS SELECT t.sym, price FROM trades t ASOF JOIN quotes q ON t.sym = q.sym AND q.sym <= t.sym;
CREATE STREAM bad AS SELECT t.sym, price FROM trades t ASOF JOIN quotes q WITHIN 1 SECOND ON t.sym = q.sym AND q.rowtime <= t.rowtime;
CREATE STREAM bad AS SELECT p.sym, qty FROM prices p ASOF JOIN trades t ON p.sym = t.sym AND t.rowtime <= p.rowtime;
CREATE STREAM bad AS SELECT t.sym, price FROM trades t JOIN quotes q MATCH_CONDITION(t.rowtime >= q.rowtime) ON t.sym = q.sym;
CREATE TABLE bad AS SELECT t.sym, price FROM trades t ASOF JOIN quotes q ON t.sym = q.sym AND q.rowtime <= t.rowtime;
SELECT t.sym, price FROM trades t ASOF JOIN quotes q ON t.sym = q.sym AND q.rowtime <= t.rowtime;
-- @push 1
SELECT t.sym, price FROM trades t ASOF JOIN prices p ON t.sym = p.sym AND p.rowtime <= t.rowtime EMIT CHANGES;
-- @await-push
