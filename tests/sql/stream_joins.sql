-- Joins of two streams (ksqlDB's stream-stream joins): a row joins the other stream's rows of
-- its key whose time is within the WITHIN window; output is never retracted, and its time is
-- the later of the two rows'.
CREATE STREAM impressions (id BIGINT KEY, ad STRING) WITH (PARTITIONS = 2);
CREATE STREAM clicks (id BIGINT KEY, url STRING) WITH (PARTITIONS = 3);
CREATE STREAM clicked AS
    SELECT i.id, ad, url FROM impressions i JOIN clicks c WITHIN 10 SECONDS ON i.id = c.id;
-- Without GRACE PERIOD an outer join emits a row without a match at once (ksqlDB's eager
-- mode), and a later match too.
CREATE STREAM clicked_or_not AS
    SELECT i.id, ad, url FROM impressions i LEFT JOIN clicks c WITHIN 10 SECONDS ON i.id = c.id;
-- With GRACE PERIOD, only once the row's window has closed without a match, at its own time.
CREATE STREAM unclicked AS
    SELECT i.id, ad, url FROM impressions i LEFT JOIN clicks c WITHIN 10 SECONDS GRACE PERIOD 0 SECONDS
    ON i.id = c.id;
CREATE STREAM either AS
    SELECT i.id, ad, url FROM impressions i FULL OUTER JOIN clicks c WITHIN 10 SECONDS GRACE PERIOD 0 SECONDS
    ON i.id = c.id;
DESCRIBE clicked;

INSERT INTO impressions (id, ad, rowtime) VALUES (1, 'shoes', 1000), (2, 'hats', 2000), (3, 'socks', 3000);
INSERT INTO clicks (id, url, rowtime) VALUES (1, '/shoes', 5000), (2, '/hats', 30000), (4, '/lost', 6000);
-- @settle
SELECT id, ad, url, rowtime FROM clicked;
SELECT id, ad, url, rowtime FROM clicked_or_not;
-- Stream time is 30000: impressions 1 to 3 and click 4 closed at 11000 to 16000 (time + 10 s
-- + grace 0); 2 and 3 and click 4 never matched.
SELECT id, ad, url, rowtime FROM unclicked;
SELECT id, ad, url, rowtime FROM either;

-- A window still open across a restart: the impression at 31000 finds the click at 35000.
INSERT INTO impressions (id, ad, rowtime) VALUES (5, 'gloves', 31000);
-- @settle
-- @restart
INSERT INTO clicks (id, url, rowtime) VALUES (5, '/gloves', 35000);
-- @settle
SELECT id, ad, url, rowtime FROM clicked WHERE id = 5;
SELECT id, ad, url, rowtime FROM unclicked WHERE id = 5;
-- A row behind the window and grace of stream time is late: it goes to the processing log.
INSERT INTO clicks (id, url, rowtime) VALUES (3, '/socks', 4000);
-- @settle
SELECT id, ad, url FROM unclicked WHERE id = 3;
SELECT message FROM eddy_processing_log WHERE query_id = 'CSAS_UNCLICKED_8';
-- The other joins' grace (ksqlDB's default, a day less the window) still takes it.
SELECT id, ad, url, rowtime FROM clicked WHERE id = 3;

-- WITHIN (before, after): a right row joins a left row when its time is in
-- [left time − before, left time + after] (ksqlDB's "different before and after windows").
CREATE STREAM lefts (k BIGINT KEY, v STRING);
CREATE STREAM rights (k BIGINT KEY, w STRING);
CREATE STREAM asymmetric AS
    SELECT l.k, v, w FROM lefts l JOIN rights r WITHIN (11 SECONDS, 10 SECONDS) ON l.k = r.k;
INSERT INTO lefts (k, v, rowtime) VALUES (0, 'l0', 0), (0, 'l13', 13000);
INSERT INTO rights (k, w, rowtime) VALUES (0, 'r11', 11000), (0, 'r15', 15000);
-- @settle
SELECT k, v, w, rowtime FROM asymmetric;

-- Flink's spelling of the same window, a bound between the two ROWTIMEs in ON, is the same
-- join: BETWEEN, or two comparisons, with INTERVALs or milliseconds (ROWTIME is a BIGINT).
CREATE STREAM asymmetric_between AS
    SELECT l.k, v, w FROM lefts l JOIN rights r
    ON l.k = r.k AND r.ROWTIME BETWEEN l.ROWTIME - INTERVAL '11' SECOND AND l.ROWTIME + INTERVAL '10' SECOND;
CREATE STREAM asymmetric_comparisons AS
    SELECT l.k, v, w FROM lefts l JOIN rights r
    ON l.ROWTIME <= r.ROWTIME + 11000 AND l.k = r.k AND (l.ROWTIME + 10000 >= r.ROWTIME);
-- A strict bound leaves out its edge: r11 is exactly 2 s before l13.
CREATE STREAM strictly_before AS
    SELECT l.k, v, w FROM lefts l JOIN rights r
    ON l.k = r.k AND r.ROWTIME > l.ROWTIME - INTERVAL '2' SECONDS AND r.ROWTIME <= l.ROWTIME;
-- @settle
SELECT k, v, w, rowtime FROM asymmetric_between;
SELECT k, v, w, rowtime FROM asymmetric_comparisons;
SELECT k, v, w, rowtime FROM strictly_before;
-- In a pull query the bound is an ordinary condition of a batch join.
SELECT l.k, v, w FROM lefts l JOIN rights r ON l.k = r.k AND r.ROWTIME BETWEEN l.ROWTIME - 2000 AND l.ROWTIME;
-- A bound from one side only is no window, and a window must hold the rows' own time.
CREATE STREAM half_bounded AS
    SELECT l.k, v, w FROM lefts l JOIN rights r ON l.k = r.k AND r.ROWTIME >= l.ROWTIME;
CREATE STREAM only_later AS
    SELECT l.k, v, w FROM lefts l JOIN rights r
    ON l.k = r.k AND r.ROWTIME BETWEEN l.ROWTIME + INTERVAL '1' SECOND AND l.ROWTIME + INTERVAL '2' SECOND;

-- A join on expressions is keyed by ksqlDB's synthetic key, ROWKEY: the left expression.
CREATE STREAM expression_key AS
    SELECT ROWKEY, v, w FROM lefts l JOIN rights r WITHIN 1 MINUTE ON l.k + 1 = r.k + 1;
-- @settle
DESCRIBE expression_key;
SELECT rowkey, v, w FROM expression_key;

-- Beyond ksqlDB: more terms in ON, and a self-join.
CREATE STREAM same_ad_other_url AS
    SELECT i.id, ad, url FROM impressions i JOIN clicks c WITHIN 1 HOUR ON i.id = c.id AND length(c.url) > 6;
CREATE STREAM pairs AS
    SELECT a.k, a.v AS first, b.v AS second FROM lefts a JOIN lefts b WITHIN 1 MINUTE ON a.k = b.k WHERE a.v < b.v;
-- @settle
SELECT id, ad, url FROM same_ad_other_url;
SELECT k, first, second FROM pairs;

-- A push query over a join of streams: its rows as they join, from the rows that come after
-- it starts.
-- @push 2
SELECT i.id, ad, url, c.rowtime FROM impressions i JOIN clicks c WITHIN 10 SECONDS ON i.id = c.id EMIT CHANGES;
INSERT INTO impressions (id, ad, rowtime) VALUES (7, 'scarf', 50000);
INSERT INTO clicks (id, url, rowtime) VALUES (7, '/scarf', 52000), (8, '/nothing', 53000), (7, '/scarf/red', 55000);
-- @await-push

-- N-way: a join of streams goes on with another stream, each join WITHIN its own window, or
-- with a table as it stands when the row is processed.
CREATE STREAM purchases (id BIGINT KEY, amount BIGINT) WITH (PARTITIONS = 2);
CREATE TABLE advertisers (id BIGINT PRIMARY KEY, advertiser STRING);
CREATE STREAM funnel AS
    SELECT i.id, ad, url, amount FROM impressions i
    LEFT JOIN clicks c WITHIN 10 SECONDS GRACE PERIOD 0 SECONDS ON i.id = c.id
    FULL JOIN purchases p WITHIN 10 SECONDS GRACE PERIOD 0 SECONDS ON i.id = p.id;
CREATE STREAM clicked_by AS
    SELECT i.id, ad, url, a.advertiser FROM impressions i JOIN clicks c WITHIN 10 SECONDS ON i.id = c.id
    LEFT JOIN advertisers a ON i.id = a.id;
INSERT INTO advertisers (id, advertiser) VALUES (20, 'acme');
INSERT INTO impressions (id, ad, rowtime) VALUES (20, 'boots', 100000), (21, 'belts', 100000);
INSERT INTO clicks (id, url, rowtime) VALUES (20, '/boots', 101000), (21, '/belts', 101500);
INSERT INTO purchases (id, amount, rowtime) VALUES (20, 99, 102000), (22, 5, 102500);
-- Stream time moves past every window of those rows.
INSERT INTO impressions (id, ad, rowtime) VALUES (23, 'later', 200000);
INSERT INTO clicks (id, url, rowtime) VALUES (23, '/later', 200000);
INSERT INTO purchases (id, amount, rowtime) VALUES (23, 1, 200000);
-- @settle
SELECT id, ad, url, amount, rowtime FROM funnel WHERE id BETWEEN 20 AND 22;
SELECT id, ad, url, advertiser FROM clicked_by WHERE id BETWEEN 20 AND 22;

-- A pair whose ON fails (a division by zero) does not match and goes to the processing log;
-- the query goes on with the other pairs.
CREATE STREAM divided AS
    SELECT l.k, v, w FROM lefts l JOIN rights r WITHIN 1 MINUTE ON l.k = r.k AND 10 / (LEN(w) - 3) > 0;
INSERT INTO lefts (k, v, rowtime) VALUES (5, 'l5', 300000);
INSERT INTO rights (k, w, rowtime) VALUES (5, 'bad', 300500), (5, 'good', 301000);
-- @settle
SELECT k, v, w FROM divided WHERE k = 5;
SELECT message, record FROM eddy_processing_log WHERE query_id LIKE 'CSAS_DIVIDED%' ORDER BY record;

-- What is refused says so.
CREATE STREAM no_within AS SELECT i.id, ad, url FROM impressions i JOIN clicks c ON i.id = c.id;
CREATE TABLE ads (id BIGINT PRIMARY KEY, name STRING);
CREATE STREAM windowed_lookup AS SELECT i.id, ad, name FROM impressions i JOIN ads a WITHIN 1 HOUR ON i.id = a.id;
SELECT i.id, ad, url FROM impressions i JOIN clicks c WITHIN 10 SECONDS ON i.id = c.id;
SELECT * FROM impressions WITHIN 10 SECONDS;
