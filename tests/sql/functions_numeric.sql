-- ksqlDB's numeric functions (its udf/math and udf/geo UDFs) and numeric casts: each with the
-- examples of ksqlDB's documentation and tests, and NULL and edge cases, over a stream's rows.
CREATE STREAM nums (id BIGINT, i INT, l BIGINT, d DOUBLE, dec DECIMAL(12, 7)) WITH (PARTITIONS = 1);
INSERT INTO nums VALUES (1, 1, 1, 1.2, 1.2);
INSERT INTO nums VALUES (2, 1, 1, 1.7, 1.7);
INSERT INTO nums VALUES (3, 1, 1, 1.5, 1.5);
INSERT INTO nums VALUES (4, 3, 3, 3.0, 3);
INSERT INTO nums VALUES (5, 1, 1, 1.234567, 1.234567);
INSERT INTO nums VALUES (6, 0, 0, 0.0, 0);
INSERT INTO nums VALUES (7, 111, 111, 111.0, 111);
INSERT INTO nums VALUES (8, NULL, NULL, NULL, NULL);
INSERT INTO nums VALUES (9, -1, -1, -1.1, -1.1);
INSERT INTO nums VALUES (10, -1, -1, -1.5, -1.5);
INSERT INTO nums VALUES (11, -2, -2, -1.7, -1.7);
INSERT INTO nums VALUES (12, 12345, 12345, 12345.678, 12345.678);
INSERT INTO nums VALUES (13, -2147483648, -9223372036854775808, 1.005, 1.005);

-- ROUND: halves go up (toward positive infinity); a DOUBLE alone gives a BIGINT, with places
-- a DOUBLE rounded on its decimal digits; a DECIMAL(p, s) gives DECIMAL(p - s, 0), with places
-- its own type.
-- @each-kind
SELECT id, ROUND(d) AS r0, ROUND(d, 0) AS r00, ROUND(d, 1) AS r1, ROUND(d, 2) AS r2,
    ROUND(d, 10) AS r10, ROUND(d, -1) AS r_1, ROUND(d, -2) AS r_2, ROUND(i) AS ri, ROUND(l) AS rl
FROM nums;
-- @each-kind
SELECT id, ROUND(dec) AS r0, ROUND(dec, 0) AS r00, ROUND(dec, 1) AS r1, ROUND(dec, 2) AS r2,
    ROUND(dec, -1) AS r_1, ROUND(dec, -2) AS r_2
FROM nums;
-- TRUNC: toward zero, with the same types as ROUND.
-- @each-kind
SELECT id, TRUNC(d) AS t0, TRUNC(d, 0) AS t00, TRUNC(d, 1) AS t1, TRUNC(d, 2) AS t2,
    TRUNC(d, -1) AS t_1, TRUNC(d, -2) AS t_2, TRUNC(dec) AS td0, TRUNC(dec, 1) AS td1,
    TRUNC(dec, -2) AS td_2, TRUNC(l) AS tl
FROM nums;
-- CEIL and FLOOR keep the argument's type.
-- @each-kind
SELECT id, CEIL(i) AS ci, CEIL(l) AS cl, CEIL(d) AS cd, CEIL(dec) AS cdec, FLOOR(i) AS fi,
    FLOOR(l) AS fl, FLOOR(d) AS fd, FLOOR(dec) AS fdec
FROM nums;
CREATE STREAM rounded AS SELECT id, ROUND(d) AS r0, ROUND(d, 1) AS r1, ROUND(dec) AS rdec,
    ROUND(dec, 1) AS rdec1, TRUNC(i) AS ti, CEIL(i) AS ci, CEIL(dec) AS cdec, SIGN(d) AS s,
    FLOOR(l) AS fl
FROM nums;
-- @settle
DESCRIBE rounded;

-- SIGN is an INT; SQRT, LN and LOG give NaN or -Infinity outside their domain; LOG with one
-- argument is ksqlDB's natural logarithm, LOG(base, x) NaN for a base of 0, 1 or below.
-- @each-kind
SELECT id, SIGN(i) AS si, SIGN(l) AS sl, SIGN(d) AS sd, SQRT(i) AS sqrt_i, SQRT(d) AS sqrt_d,
    LN(i) AS ln_i, LOG(i) AS log_i, LOG(15, i) AS log15_i, LOG(i, 13) AS log_base_i
FROM nums;
-- @each-kind
SELECT id, POWER(i, 2) AS squared, POWER(15, i) AS power15, POWER(d, -1) AS inverse,
    EXP(i) AS exp_i, ABS(i) AS abs_i, ABS(d) AS abs_d, ABS(dec) AS abs_dec, CBRT(d) AS cbrt_d
FROM nums WHERE id <> 13;
-- @each-kind
SELECT id, ACOS(d) AS acos_d, ASIN(d) AS asin_d, ATAN(d) AS atan_d, ATAN2(d, i) AS atan2_di,
    COS(d) AS cos_d, COSH(d) AS cosh_d, COT(i) AS cot_i, SIN(d) AS sin_d, SINH(d) AS sinh_d,
    TAN(d) AS tan_d, TANH(d) AS tanh_d, DEGREES(d) AS degrees_d, RADIANS(d) AS radians_d,
    PI() AS pi
FROM nums WHERE id < 8;
-- GREATEST and LEAST skip NULLs.
-- @each-kind
SELECT id, GREATEST(i, CAST(NULL AS INT), 5) AS greatest_i, LEAST(i, CAST(NULL AS INT), 5) AS least_i,
    GREATEST(d, 1.5) AS greatest_d, LEAST(dec, 1.5) AS least_dec
FROM nums;

-- GEO_DISTANCE in km by default, or miles; ksqlDB's test points.
CREATE STREAM places (id BIGINT, lat1 DOUBLE, lon1 DOUBLE, lat2 DOUBLE, lon2 DOUBLE, unit STRING)
    WITH (PARTITIONS = 1);
INSERT INTO places VALUES (1, 37.4439, -122.1663, 51.5257, -0.1122, NULL);
INSERT INTO places VALUES (2, 37.4439, -122.1663, 51.5257, -0.1122, 'KM');
INSERT INTO places VALUES (3, 37.4439, -122.1663, 51.5257, -0.1122, 'MI');
INSERT INTO places VALUES (4, 51.5257, -0.1122, -33.9323, 18.4197, 'miles');
INSERT INTO places VALUES (5, -33.9323, 18.4197, -33.8666, 151.1, ' Kilometres ');
-- @each-kind
SELECT id, GEO_DISTANCE(lat1, lon1, lat2, lon2, unit) AS distance,
    GEO_DISTANCE(lat1, lon1, lat2, lon2) AS distance_km
FROM places;
-- An unknown unit, a latitude out of range and a NULL coordinate are errors of their row.
INSERT INTO places VALUES (6, 37.4439, -122.1663, 51.5257, -0.1122, 'parsecs');
INSERT INTO places VALUES (7, 91.0, 0.0, 0.0, 0.0, 'km');
INSERT INTO places VALUES (8, NULL, 0.0, 0.0, 0.0, 'km');
CREATE STREAM distances AS SELECT id, GEO_DISTANCE(lat1, lon1, lat2, lon2, unit) AS distance
FROM places;
-- @settle
SELECT id, distance FROM distances;
SELECT message FROM eddy_processing_log WHERE query_id LIKE 'CSAS_DISTANCES%';

-- Casts between numbers. ksqlDB truncates a DOUBLE toward zero and wraps a BIGINT or DECIMAL
-- too big for an INT (Java's narrowing); Eddy answers the same where the value fits.
-- @each-kind
SELECT id, CAST(d AS INT) AS d_int, CAST(d AS BIGINT) AS d_bigint, CAST(dec AS INT) AS dec_int,
    CAST(dec AS BIGINT) AS dec_bigint, CAST(d AS DECIMAL(12, 1)) AS d_decimal,
    CAST(dec AS DECIMAL(12, 1)) AS dec_decimal, CAST(l AS DOUBLE) AS l_double
FROM nums WHERE id <> 13;
CREATE STREAM casts (id BIGINT, l BIGINT, d DOUBLE, dec DECIMAL(20, 2)) WITH (PARTITIONS = 1);
INSERT INTO casts VALUES (1, 2147483648, 1e20, 99999999999999999.99);
INSERT INTO casts VALUES (2, -2147483649, -1e20, -12345678901.5);
INSERT INTO casts VALUES (3, 1, CAST('NaN' AS DOUBLE), 0.5);
-- ksqlDB rounds a DOUBLE cast to DECIMAL half up from its shortest decimal digits (1.005 is
-- 1.01 at scale 2), and a DECIMAL half up (-1.5 is -2 at scale 0).
-- @each-kind
SELECT id, CAST(d AS DECIMAL(12, 2)) AS d_2, CAST(dec AS DECIMAL(12, 2)) AS dec_2,
    CAST(dec AS DECIMAL(12, 0)) AS dec_0, CAST(d AS DECIMAL(12, 0)) AS d_0
FROM nums WHERE id IN (3, 10, 13);
-- @each-kind
SELECT id, CAST(l AS INT) AS l_int FROM casts;
CREATE STREAM cast_int AS SELECT id, CAST(l AS INT) AS l_int FROM casts;
CREATE STREAM cast_double AS SELECT id, CAST(d AS INT) AS d_int FROM casts;
CREATE STREAM cast_double_bigint AS SELECT id, CAST(d AS BIGINT) AS d_bigint FROM casts;
CREATE STREAM cast_decimal AS SELECT id, CAST(dec AS INT) AS dec_int FROM casts;
CREATE STREAM cast_decimal_small AS SELECT id, CAST(dec AS DECIMAL(3, 1)) AS dec_small FROM casts;
CREATE STREAM cast_double_decimal AS SELECT id, CAST(d AS DECIMAL(5, 1)) AS d_small FROM casts;
-- @settle
SELECT id, l_int FROM cast_int;
SELECT id, d_int FROM cast_double;
SELECT id, d_bigint FROM cast_double_bigint;
SELECT id, dec_int FROM cast_decimal;
SELECT id, dec_small FROM cast_decimal_small;
SELECT id, d_small FROM cast_double_decimal;
SELECT query_id, message FROM eddy_processing_log WHERE query_id LIKE 'CSAS_CAST%';

-- A DOUBLE written into a DECIMAL column (INSERT, or a persistent query's sink) converts as
-- CAST does; a value that does not fit is an error, never a NULL.
CREATE STREAM prices (id BIGINT, price DECIMAL(4, 2)) WITH (PARTITIONS = 1);
INSERT INTO prices VALUES (1, CAST(1.005 AS DOUBLE)), (2, CAST(2.675 AS DOUBLE));
INSERT INTO prices VALUES (3, CAST(123.4 AS DOUBLE));
SELECT id, price FROM prices;
CREATE STREAM double_prices (id BIGINT, price DOUBLE) WITH (PARTITIONS = 1);
INSERT INTO double_prices VALUES (4, 0.125), (5, 100.5);
INSERT INTO prices SELECT id, price FROM double_prices;
-- @settle
SELECT id, price FROM prices WHERE id > 3;
SELECT message FROM eddy_processing_log WHERE query_id LIKE 'INSERTQUERY%';
