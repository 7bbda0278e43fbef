-- INSERT .. VALUES: column lists, defaults, expressions, every type, event time, bad values.
CREATE STREAM orders (id BIGINT KEY, amount DECIMAL(8, 2), note STRING, paid BOOLEAN) WITH (PARTITIONS = 2);
INSERT INTO orders VALUES (1, 10.50, 'first', true), (2, 99.99, NULL, false);
INSERT INTO orders (id, note) VALUES (3, 'no amount');
INSERT INTO orders (note, id, amount) VALUES (upper('mixed order'), 2 + 2, 1.5 * 2);
INSERT INTO orders (id, amount, rowtime) VALUES (5, -3.25, 1700000000000);
SELECT id, amount, note, paid FROM orders ORDER BY id;
SELECT id, rowtime FROM orders WHERE id = 5;

CREATE STREAM typed (d DATE, t TIME, ts TIMESTAMP, b BYTES, tags ARRAY<INT>, m MAP<STRING, DOUBLE>, s STRUCT<a INT, b STRING>);
INSERT INTO typed VALUES ('2024-02-29', '12:34:56', '2024-02-29T12:34:56.789', X'CAFE', make_array(1, 2, 3), map(['x', 'y'], [1.5, 2.5]), named_struct('a', 7, 'b', 'seven'));
SELECT d, t, ts, b, tags, m, s FROM typed;
SELECT s.a, s['b'], tags[2], m['y'] FROM typed;

-- Event time from a column.
CREATE STREAM readings (sensor STRING KEY, reading DOUBLE, taken_at BIGINT) WITH (TIMESTAMP = 'taken_at');
INSERT INTO readings VALUES ('a', 1.5, 1600000000000);
CREATE STREAM logins (user_name STRING, login_time STRING) WITH (TIMESTAMP = 'login_time', TIMESTAMP_FORMAT = 'yyyy-MM-dd HH:mm:ss');
INSERT INTO logins VALUES ('ann', '2024-01-02 03:04:05');
SELECT sensor, rowtime FROM readings;
SELECT user_name, rowtime FROM logins;

-- Bad input: nothing is written.
INSERT INTO orders (id, amount) VALUES (6, 'lots');
INSERT INTO orders (id, amount) VALUES (7, 123456789.00);
INSERT INTO orders (id, nope) VALUES (8, 1);
INSERT INTO orders (id, id) VALUES (9, 9);
INSERT INTO orders (id) VALUES (10, 11);
INSERT INTO orders (id, rowpartition) VALUES (11, 0);
INSERT INTO orders (id, rowtime) VALUES (12, NULL);
INSERT INTO logins VALUES ('bob', 'yesterday');
INSERT INTO readings (sensor, reading) VALUES ('b', 2.0);
INSERT INTO nowhere VALUES (1);
SELECT COUNT(*) AS orders FROM orders;
