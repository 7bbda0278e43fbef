-- ksqlDB's functions between BYTES, text and numbers: TO_BYTES, FROM_BYTES, ENCODE,
-- INT_FROM_BYTES, BIGINT_FROM_BYTES and DOUBLE_FROM_BYTES, each with ksqlDB's documented
-- examples and its NULL and edge cases, answered alike by pull, push and persistent queries.
-- An unknown encoding or byte order, text that does not decode and a wrong number of bytes
-- are errors of their row, shown at the end.

CREATE STREAM texts (id BIGINT, txt STRING, encoding STRING) WITH (PARTITIONS = 1);
INSERT INTO texts (id, txt, encoding) VALUES
    (1, '628b30f0', 'hex'),
    (2, 'CAFE', 'HEX'),
    (3, 'Hello, é', 'utf8'),
    (4, 'Hello, é', 'ascii'),
    (5, 'AAAAASoF8gA=', 'base64'),
    (6, 'QICm/ZvJ9YI', 'Base64'),
    (7, '', 'hex'),
    (8, NULL, 'hex'),
    (9, 'abc', NULL);
-- @each-kind
SELECT id, TO_BYTES(txt, encoding) AS bytes, FROM_BYTES(TO_BYTES(txt, encoding), 'hex') AS hex, FROM_BYTES(TO_BYTES(txt, encoding), 'base64') AS base64 FROM texts;
-- @each-kind
SELECT id, FROM_BYTES(TO_BYTES(txt, encoding), 'utf8') AS utf8, FROM_BYTES(TO_BYTES(txt, encoding), 'ASCII') AS ascii FROM texts WHERE id IN (3, 4, 7, 8, 9);

-- The documented example: a MongoDB id's first four bytes are its creation time.
-- @each-kind
SELECT id, FROM_UNIXTIME(CAST(INT_FROM_BYTES(TO_BYTES(SUBSTRING('628b30f00000000000000000', 0, 8), 'hex')) AS BIGINT) * 1000) AS created FROM texts WHERE id = 1;

CREATE STREAM raw_values (id BIGINT, b BYTES, byte_order STRING) WITH (PARTITIONS = 1);
INSERT INTO raw_values (id, b, byte_order) VALUES
    (1, X'000007E5', 'BIG_ENDIAN'),
    (2, X'E5070000', 'LITTLE_ENDIAN'),
    (3, X'FFFFFFFF', 'little_endian'),
    (4, NULL, 'BIG_ENDIAN');
-- @each-kind
SELECT id, INT_FROM_BYTES(b) AS big_endian, INT_FROM_BYTES(b, byte_order) AS ordered FROM raw_values;

CREATE STREAM wide_values (id BIGINT, b BYTES, byte_order STRING) WITH (PARTITIONS = 1);
INSERT INTO wide_values (id, b, byte_order) VALUES
    (1, X'000000012A05F200', 'BIG_ENDIAN'),
    (2, X'4080A6FD9BC9F582', 'BIG_ENDIAN'),
    (3, X'82F5C99BFDA68040', 'LITTLE_ENDIAN'),
    (4, X'FFF0000000000000', 'BIG_ENDIAN'),
    (5, NULL, 'LITTLE_ENDIAN');
-- @each-kind
SELECT id, BIGINT_FROM_BYTES(b) AS bigint_big_endian, BIGINT_FROM_BYTES(b, byte_order) AS bigint_ordered, DOUBLE_FROM_BYTES(b) AS double_big_endian, DOUBLE_FROM_BYTES(b, byte_order) AS double_ordered FROM wide_values;

-- ENCODE(text, from, to): hex in lower case, `0x` and X'..' hex accepted, base64 input
-- read leniently; NULL for a NULL argument.
CREATE STREAM encode_cases (id BIGINT, txt STRING, from_encoding STRING, to_encoding STRING) WITH (PARTITIONS = 1);
INSERT INTO encode_cases (id, txt, from_encoding, to_encoding) VALUES
    (1, '4578616d706C6521', 'hex', 'utf8'),
    (2, '0x4578616d706C6521', 'hex', 'ascii'),
    (3, 'X''4578616d706C6521''', 'hex', 'base64'),
    (4, '0x578', 'hex', 'utf8'),
    (5, 'Example!', 'utf8', 'hex'),
    (6, 'Example!', 'ascii', 'base64'),
    (7, 'é', 'utf8', 'ascii'),
    (8, 'é', 'ascii', 'hex'),
    (9, 'RXhhbXBsZSE=', 'base64', 'utf8'),
    (10, 'RXhh bXBs ZSE', 'BASE64', 'HEX'),
    (11, NULL, 'hex', 'utf8'),
    (12, '41', NULL, 'utf8');
-- @each-kind
SELECT id, ENCODE(txt, from_encoding, to_encoding) AS encoded FROM encode_cases;
-- DataFusion's two-argument encode (BYTES to text), which ksqlDB lacks, keeps its meaning.
-- @each-kind
SELECT id, ENCODE(b, 'hex') AS hex FROM raw_values;

-- Where ksqlDB's function throws, the row is set aside with the reason (ENCODE reads
-- base64 leniently, so 'a*b=' is the byte of 'i').
CREATE STREAM bad_bytes (id BIGINT, txt STRING, encoding STRING, b BYTES, byte_order STRING) WITH (PARTITIONS = 1);
INSERT INTO bad_bytes (id, txt, encoding, b, byte_order) VALUES
    (1, 'abc', 'hex', X'01', 'BIG_ENDIAN'),
    (2, 'abc', 'utf16', X'0102', 'MIDDLE_ENDIAN'),
    (3, 'a*b=', 'base64', NULL, 'MIDDLE_ENDIAN'),
    (4, 'zz', 'hex', X'0102030405', NULL);
CREATE STREAM decoded_bytes AS SELECT id, TO_BYTES(txt, encoding) AS bytes FROM bad_bytes;
CREATE STREAM decoded_ints AS SELECT id, INT_FROM_BYTES(b, byte_order) AS n FROM bad_bytes;
CREATE STREAM encoded_texts AS SELECT id, ENCODE(txt, encoding, 'utf8') AS encoded FROM bad_bytes;
-- @settle
SELECT id, encoded FROM encoded_texts;
SELECT message FROM eddy_processing_log WHERE query_id LIKE 'CSAS_DECODED_BYTES%';
SELECT message FROM eddy_processing_log WHERE query_id LIKE 'CSAS_DECODED_INTS%';
SELECT message FROM eddy_processing_log WHERE query_id LIKE 'CSAS_ENCODED_TEXTS%';
