-- CREATE STREAM: every column type, keys, WITH properties, IF NOT EXISTS, and the errors.
CREATE STREAM everything (
    id BIGINT KEY,
    flag BOOLEAN,
    small INT,
    ratio DOUBLE,
    price DECIMAL(10, 2),
    name VARCHAR,
    label STRING,
    raw BYTES,
    day DATE,
    at_time TIME,
    at TIMESTAMP,
    tags ARRAY<STRING>,
    attributes MAP<STRING, BIGINT>,
    address STRUCT<street STRING, zip INT, geo STRUCT<lat DOUBLE, lon DOUBLE>>
) WITH (KAFKA_TOPIC = 'everything', VALUE_FORMAT = 'JSON', KEY_FORMAT = 'KAFKA', PARTITIONS = 3);
DESCRIBE everything;
CREATE STREAM IF NOT EXISTS everything (id BIGINT);
CREATE STREAM "MixedCase" (Id BIGINT, "Name" STRING);
DESCRIBE "MixedCase";
CREATE STREAM readings (sensor STRING KEY, reading DOUBLE, taken_at BIGINT) WITH (TIMESTAMP = 'taken_at');
CREATE STREAM logins (user_name STRING, login_time STRING)
    WITH (TIMESTAMP = 'login_time', TIMESTAMP_FORMAT = 'yyyy-MM-dd HH:mm:ss');
SHOW STREAMS;

-- Errors: each names what is wrong.
CREATE STREAM everything (id BIGINT);
CREATE STREAM twice (a INT, a STRING);
CREATE STREAM bad_type (a FLOAT);
CREATE STREAM bad_key (a INT PRIMARY KEY);
CREATE STREAM reserved (rowtime BIGINT);
CREATE STREAM bad_partitions (a INT) WITH (PARTITIONS = 0);
CREATE STREAM bad_property (a INT) WITH (RETENTION_DAYS = 3);
CREATE STREAM bad_timestamp (a INT, b STRING) WITH (TIMESTAMP = 'b');
CREATE STREAM missing_timestamp (a INT) WITH (TIMESTAMP = 'nope');
CREATE STREAM bad_format (a STRING) WITH (TIMESTAMP = 'a', TIMESTAMP_FORMAT = 'yyyy-QQ');
CREATE STREAM unfinished (a INT;
CREATE TABLE users (id BIGINT PRIMARY KEY, name STRING);
CREATE OR REPLACE STREAM everything (id BIGINT);
