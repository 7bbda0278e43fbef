-- ksqlDB's date and time functions (planner/src/scalar/datetime*.rs), over a stream's rows,
-- each SELECT as a pull, a push and a persistent query. Patterns are Java DateTimeFormatter
-- patterns; zones are Java zone ids; without a zone, timestamps are UTC.
CREATE STREAM moments (id BIGINT, txt STRING, fmt STRING, zone STRING, d DATE, tm TIME,
    ts TIMESTAMP, days INT, ms BIGINT) WITH (PARTITIONS = 1);
INSERT INTO moments (id, txt, fmt, zone, d, tm, ts, days, ms) VALUES
    (1, '2021-02-03 04:05:06.789', 'yyyy-MM-dd HH:mm:ss.SSS', 'America/Los_Angeles',
     '2021-02-03', '04:05:06.789', '2021-02-03T04:05:06.789', 18661, 1612325106789),
    (2, '2020-02-29T23:59:59Z', 'yyyy-MM-dd''T''HH:mm:ssX', 'Europe/London',
     '2020-02-29', '23:59:59', '2020-02-29T23:59:59', 18321, 1583020799000),
    (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
    (4, '1969-12-31 23:59:59.999', 'yyyy-MM-dd HH:mm:ss.SSS', '+05:30',
     '1969-12-31', '00:00:00', '1969-12-31T23:59:59.999', -1, -1);

-- PARSE_TIMESTAMP and STRINGTOTIMESTAMP: UTC, or the zone given, unless the text has one.
-- @each-kind
SELECT id, PARSE_TIMESTAMP(txt, fmt) AS parsed, PARSE_TIMESTAMP(txt, fmt, zone) AS in_zone,
    STRINGTOTIMESTAMP(txt, fmt) AS epoch_ms, STRINGTOTIMESTAMP(txt, fmt, zone) AS epoch_ms_in_zone
    FROM moments;

-- FORMAT_TIMESTAMP and TIMESTAMPTOSTRING (epoch milliseconds), UTC or in a zone.
-- @each-kind
SELECT id, FORMAT_TIMESTAMP(ts, 'yyyy-MM-dd''T''HH:mm:ss.SSSXXX') AS utc,
    FORMAT_TIMESTAMP(ts, 'yyyy-MM-dd HH:mm:ss z (VV, ZZZZ)', zone) AS zoned,
    TIMESTAMPTOSTRING(ms, 'yyyy-MM-dd HH:mm:ss.SSS') AS from_ms,
    TIMESTAMPTOSTRING(ms, 'EEE, d MMM yyyy h:mm a', zone) AS from_ms_in_zone
    FROM moments;

-- PARSE_DATE, STRINGTODATE (days), FORMAT_DATE, DATETOSTRING (from days), FROM_DAYS,
-- UNIX_DATE.
-- @each-kind
SELECT id, PARSE_DATE(FORMAT_DATE(d, 'dd/MM/yyyy'), 'dd/MM/yyyy') AS round_trip,
    FORMAT_DATE(d, 'EEEE d MMMM yyyy, ''day'' D') AS long_form,
    STRINGTODATE(FORMAT_DATE(d, 'yyyyMMdd'), 'yyyyMMdd') AS days_since_epoch,
    DATETOSTRING(days, 'yyyy-MM-dd') AS from_days_text, FROM_DAYS(days) AS from_days,
    UNIX_DATE(d) AS unix_date
    FROM moments;

-- PARSE_TIME and FORMAT_TIME.
-- @each-kind
SELECT id, FORMAT_TIME(tm, 'hh:mm:ss.SSS a') AS twelve_hour,
    PARSE_TIME(FORMAT_TIME(tm, 'HH:mm:ss.SSS'), 'HH:mm:ss.SSS') AS round_trip,
    PARSE_TIME('10:11', 'HH:mm') AS literal
    FROM moments;

-- CONVERT_TZ, UNIX_TIMESTAMP and FROM_UNIXTIME.
-- @each-kind
SELECT id, CONVERT_TZ(ts, 'UTC', zone) AS converted, CONVERT_TZ(ts, zone, 'UTC') AS back,
    UNIX_TIMESTAMP(ts) AS unix_ms, FROM_UNIXTIME(ms) AS from_ms
    FROM moments;

-- DATEADD/DATESUB, TIMEADD/TIMESUB, TIMESTAMPADD/TIMESTAMPSUB with ksqlDB's unit keywords.
-- A DATE moves by whole days of the interval, truncated toward zero as ksqlDB's; a TIME
-- wraps around midnight.
-- @each-kind
SELECT id, DATEADD(DAYS, 5, d) AS plus_days, DATESUB(DAY, 1, d) AS minus_day,
    DATEADD(HOURS, 36, d) AS plus_hours, TIMEADD(HOURS, 20, tm) AS plus_hours_time,
    TIMESUB(MINUTE, 1, tm) AS minus_minute, TIMESTAMPADD(MILLISECONDS, 1, ts) AS plus_ms,
    TIMESTAMPSUB(SECONDS, 10, ts) AS minus_seconds, TIMESTAMPADD(MINUTES, CAST(id AS INT), ts) AS plus_id_minutes
    FROM moments;

-- The unit is a keyword: anything else is refused when the query is planned.
SELECT DATEADD(WEEKS, 1, d) AS later FROM moments;

-- The documented forms, on literals.
SELECT PARSE_TIMESTAMP('2021-03-04 05:06:07.890', 'yyyy-MM-dd HH:mm:ss.SSS', 'Europe/Paris') AS paris,
    FORMAT_TIMESTAMP(FROM_UNIXTIME(1589234313000), 'yyyy-MM-dd HH:mm:ss.SSS') AS documented,
    FORMAT_DATE(PARSE_DATE('2021-03-04', 'yyyy-MM-dd'), 'yyyy-MM-dd''T''') AS quoted,
    FORMAT_TIME(PARSE_TIME('13:14:15.161', 'HH:mm:ss.SSS'), '''T''HH:mm:ss') AS time_quoted
    FROM moments WHERE id = 1;

-- Now and today read the clock: only their relation to it is stable.
SELECT UNIX_TIMESTAMP() > 1700000000000 AS now_is_late,
    UNIX_DATE() = CAST(UNIX_TIMESTAMP() / 86400000 AS INT) AS today_is_now
    FROM moments WHERE id = 1;

-- Text that does not match its pattern, an unknown zone or a pattern letter Eddy does not
-- implement throws in ksqlDB: the row is set aside, the query goes on.
CREATE STREAM bad_moments (id BIGINT, txt STRING, fmt STRING, zone STRING) WITH (PARTITIONS = 1);
INSERT INTO bad_moments (id, txt, fmt, zone) VALUES
    (1, '2021-02-03', 'yyyy-MM-dd', 'UTC'),
    (2, '2021-13-03', 'yyyy-MM-dd', 'UTC'),
    (3, '2021-02-03', 'yyyy-MM-dd', 'PST'),
    (4, '2021-02-03', 'yyyy-MM-dd QQ', 'UTC'),
    (5, '03.02.2021', 'yyyy-MM-dd', 'UTC');
CREATE STREAM parsed_moments AS SELECT id, PARSE_TIMESTAMP(txt, fmt, zone) AS parsed FROM bad_moments;
-- @settle
SELECT id, parsed FROM parsed_moments;
SELECT message FROM eddy_processing_log WHERE query_id LIKE 'CSAS_PARSED_MOMENTS%';

-- A date pattern with a time field, a time pattern with a date field, and a field the
-- value lacks are errors as in ksqlDB.
CREATE STREAM mixed_fields AS SELECT id, PARSE_DATE(txt || ' 04', 'yyyy-MM-dd HH') AS date_with_hour FROM bad_moments WHERE id = 1;
CREATE STREAM time_of_date AS SELECT id, FORMAT_DATE(PARSE_DATE(txt, fmt), 'HH:mm') AS hour_of_date FROM bad_moments WHERE id = 1;
-- @settle
SELECT message FROM eddy_processing_log WHERE query_id LIKE 'CSAS_MIXED_FIELDS%' OR query_id LIKE 'CSAS_TIME_OF_DATE%';
