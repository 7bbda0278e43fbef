-- ksqlDB's string functions, each with ksqlDB's documented examples (and the cases of its own
-- tests) and its NULL and edge cases, answered alike by pull, push and persistent queries.
SET 'auto.offset.reset' = 'earliest';

-- LCASE, UCASE, LEN (characters of a string, bytes of BYTES), INITCAP (words start after
-- whitespace only; leading whitespace goes), TRIM (Java's: control characters too).
CREATE STREAM words (id BIGINT, s STRING, raw BYTES) WITH (PARTITIONS = 1);
INSERT INTO words (id, s, raw) VALUES (1, 'the Quick br0wn fOx', X'616263'), (2, NULL, NULL), (3, '  héllo-WORLD  again', X''), (4, 'some_string straße', X'00FF'), (5, '', X'00');
-- @each-kind
SELECT id, LCASE(s) AS lower, UCASE(s) AS upper, LEN(s) AS chars, LEN(raw) AS bytes, INITCAP(s) AS capped, TRIM(CONCAT(CHR(9), ' ', s, CHR(10), CHR(0))) AS trimmed, TRIM('x' FROM CONCAT('x', s, 'x')) AS trimmed_x FROM words;

-- CHR of a code point or of a Java '\uXXXX' escape; NULL for what is no character.
CREATE STREAM codes (id BIGINT, code INT, escape STRING) WITH (PARTITIONS = 1);
INSERT INTO codes (id, code, escape) VALUES (1, 75, '\u004b'), (2, 22909, '\u597d'), (3, 99000, '\ud820\udeb8'), (4, -1, '75'), (5, NULL, NULL), (6, 55296, '004b'), (7, 1114112, 'bogus'), (8, 9, ''), (9, 128512, '\u004b\u0053\t!');
-- @each-kind
SELECT id, CHR(code) AS from_code, CHR(escape) AS from_escape, CONCAT(CHR('\u004b'), CHR('\u0053'), CHR(81), CHR(76)) AS ksql FROM codes;

-- CONCAT skips NULLs (all NULL gives ''), of strings or of bytes; CONCAT_WS skips NULL
-- values and gives NULL for a NULL separator; REPLACE gives NULL for any NULL argument.
CREATE STREAM pieces (id BIGINT, sep STRING, a STRING, b STRING, c STRING, x BYTES, y BYTES) WITH (PARTITIONS = 1);
INSERT INTO pieces (id, sep, a, b, c, x, y) VALUES (1, 'SEP', 'foo', 'bar', 'baz', X'796573', X'6E6F'), (2, 'SEP', 'foo', NULL, 'baz', X'', X'6E6F'), (3, 'SEP', NULL, NULL, NULL, NULL, NULL), (4, NULL, 'anaconda', 'bar', 'baz', X'796573', NULL);
-- @each-kind
SELECT id, CONCAT(a, b, c) AS joined, CONCAT('prefix-', a, '-postfix') AS framed, CONCAT(x, NULL, y) AS bytes_joined, CONCAT_WS(sep, a, b, c, NULL, 'literal') AS separated, CONCAT_WS(', ', 'apple', 'banana', NULL, a) AS listed, CONCAT_WS(X'61', x, y, NULL) AS bytes_separated FROM pieces;
-- @each-kind
SELECT id, REPLACE(a, 'a', 'o') AS replaced, REPLACE(a, NULL, 'o') AS null_old, REPLACE(a, 'a', NULL) AS null_new, REPLACE(a, '', '.') AS empty_old, MD5(a) AS hash FROM pieces;

-- INSTR: from a position, the n-th occurrence (overlapping), backwards from a negative
-- position; 0 when not found and for a NULL string or substring.
CREATE STREAM haystacks (id BIGINT, s STRING, sub STRING, pos INT, occ INT) WITH (PARTITIONS = 1);
INSERT INTO haystacks (id, s, sub, pos, occ) VALUES (1, 'CORPORATE FLOOR', 'OR', 3, 2), (2, 'CORPORATE FLOOR', 'MISSING', 1, 1), (3, NULL, 'OR', 1, 1), (4, 'CORPORATE FLOOR', NULL, 1, 1), (5, 'aaa', 'aa', -1, 2), (6, 'héhé', 'é', -2, 1), (7, 'short', 'or', 6, 1), (8, 'abc', '', 0, 1);
-- @each-kind
SELECT id, INSTR(s, sub) AS first, INSTR(s, sub, pos) AS from_pos, INSTR(s, sub, pos, occ) AS nth, INSTR(s, sub, -3) AS back, INSTR(s, sub, -3, 2) AS back_second FROM haystacks;

-- ELT and FIELD count from 1; ELT gives NULL past either end, FIELD 0 when not found.
CREATE STREAM pairs (id BIGINT, a STRING, b STRING) WITH (PARTITIONS = 1);
INSERT INTO pairs (id, a, b) VALUES (1, 'hello', 'world'), (2, NULL, 'world'), (3, 'world', 'hello'), (4, NULL, NULL);
-- @each-kind
SELECT id, ELT(2, 'ignored', a) AS elem, FIELD('hello', a, b) AS pos, ELT(FIELD('hello', a, b), a, b) AS hello, ELT(0, a, b) AS zero, ELT(3, a, b) AS past, FIELD(a, 'x', a) AS own, FIELD(a) AS alone FROM pairs;

-- MASK and its four partial forms, with ksqlDB's documented examples; a NULL mask keeps
-- that kind of character.
CREATE STREAM secrets (id BIGINT, s STRING) WITH (PARTITIONS = 1);
INSERT INTO secrets (id, s) VALUES (1, 'My Test $123'), (2, NULL), (3, ''), (4, 'Ab1 Δδ٣ǅ');
-- @each-kind
SELECT id, MASK(s) AS masked, MASK(s, '*', NULL, '1', NULL) AS custom, MASK_KEEP_LEFT(s, 4) AS keep_left, MASK_KEEP_RIGHT(s, 4) AS keep_right, MASK_LEFT(s, 4) AS mask_left, MASK_RIGHT(s, 4) AS mask_right, MASK_LEFT(s, 40, NULL, NULL, NULL, '#') AS others, MASK_KEEP_RIGHT(s, 0, 'U', 'l', 'd', 'o') AS all_custom FROM secrets;

-- REGEXP_EXTRACT (pattern first), REGEXP_EXTRACT_ALL, REGEXP_REPLACE (every match, $1 for
-- a group), REGEXP_SPLIT_TO_ARRAY, with Java's pattern syntax.
CREATE STREAM texts (id BIGINT, s STRING, pattern STRING) WITH (PARTITIONS = 1);
INSERT INTO texts (id, s, pattern) VALUES (1, 'hello there', '(.*) (.*)'), (2, 'hello there nice day', '(\w+) (\w+)'), (3, NULL, '(ab)+'), (4, 'baababaa', NULL), (5, 'baabbabaa', '(ab)+'), (6, 'aabcda', '(ab|cd)'), (7, 'baaac', 'a*'), (8, 'x1 é2 ٣', '\d');
-- @each-kind
SELECT id, REGEXP_EXTRACT(pattern, s) AS whole, REGEXP_EXTRACT(pattern, s, 2) AS second, REGEXP_EXTRACT(pattern, s, 5) AS no_group, REGEXP_EXTRACT_ALL(pattern, s) AS all_whole, REGEXP_EXTRACT_ALL(pattern, s, 1) AS all_first FROM texts;
-- @each-kind
SELECT id, REGEXP_REPLACE(s, pattern, 'cat') AS replaced, REGEXP_REPLACE(s, pattern, '<$0>') AS whole, REGEXP_REPLACE(s, pattern, '\$') AS escaped, REGEXP_SPLIT_TO_ARRAY(s, pattern) AS parts, REGEXP_SPLIT_TO_ARRAY(s, '') AS characters FROM texts;
-- A group reference names a group of every pattern (ksqlDB fails the call otherwise).
-- @each-kind
SELECT id, REGEXP_REPLACE(s, pattern, '[$2/$1]') AS swapped, REGEXP_REPLACE(s, '(?<word>\w+)', '${word}!') AS named FROM texts WHERE id IN (1, 2);

-- SPLIT at a literal delimiter (a '.' is a dot), of strings or bytes; an empty delimiter
-- cuts every character or byte. SPLIT_TO_MAP: a later key wins, empty entries are skipped.
CREATE STREAM lines (id BIGINT, s STRING, raw BYTES) WITH (PARTITIONS = 1);
INSERT INTO lines (id, s, raw) VALUES (1, 'a.b.c', X'612E622E63'), (2, '.abc.', X'2E6162632E'), (3, '..a..', X'2E2E612E2E'), (4, 'abc', X'616263'), (5, '', X''), (6, NULL, NULL), (7, 'a$$b.c', X'612424622E63');
-- @each-kind
SELECT id, SPLIT(s, '.') AS by_dot, SPLIT(s, '$$') AS by_dollars, SPLIT(s, '') AS by_character, SPLIT(raw, X'2E') AS bytes_by_dot, SPLIT(raw, X'') AS by_byte, SPLIT(s, '.')[1] AS first FROM lines;
CREATE STREAM entries (id BIGINT, s STRING, entry_delimiter STRING, kv_delimiter STRING) WITH (PARTITIONS = 1);
INSERT INTO entries (id, s, entry_delimiter, kv_delimiter) VALUES (1, 'apple:green/banana:yellow/cherry:red', '/', ':'), (2, 'apple:green/banana:yellow/cherry:red', '&&', ':'), (3, 'apple:green//banana:yellow//cherry:red/apple:red', '/', ':'), (4, 'apple:green/banana:yellow', '/', '='), (5, 'apple:green', '', ':'), (6, 'apple:green', '/', ''), (7, 'apple:green', NULL, ':'), (8, '', '/', ':'), (9, NULL, '/', ':'), (10, 'a:b', ':', ':');
-- @each-kind
SELECT id, SPLIT_TO_MAP(s, entry_delimiter, kv_delimiter) AS map FROM entries;
-- @each-kind
SELECT id, SPLIT_TO_MAP(REPLACE(s, ':', ':='), '/', ':=') AS documented FROM entries WHERE id = 1;

-- UUID(bytes) formats 16 bytes, NULL otherwise; UUID() is random, 36 characters long.
CREATE STREAM ids (id BIGINT, raw BYTES) WITH (PARTITIONS = 1);
INSERT INTO ids (id, raw) VALUES (1, X'237e9877e79b12d4a765321741963000'), (2, X'237e98'), (3, NULL);
-- @each-kind
SELECT id, UUID(raw) AS from_bytes, LEN(UUID()) AS random_length FROM ids;

-- SUBSTRING, LPAD and RPAD: ksqlDB's documented examples.
-- @each-kind
SELECT id, SUBSTRING(CONCAT('stream', a), 1, 4) AS stre, LPAD(CONCAT('Foo', a), 7, 'Bar') AS left7, LPAD(CONCAT('Foo', a), 2, 'Bar') AS left2, LPAD(CONCAT('', a), 2, 'Bar') AS left_empty, LPAD(CONCAT('123', a), 5, '0') AS zeros, RPAD(CONCAT('Foo', a), 7, 'Bar') AS right7 FROM pairs WHERE a IS NULL;

-- Where ksqlDB's function throws, the row is set aside with the reason: a negative or NULL
-- count to mask, a mask of two characters, a NULL INSTR position or ELT index, a '\u'
-- without hex digits, a pattern Java reads and Rust's engine cannot, a bad group reference.
CREATE STREAM bad (id BIGINT, s STRING, n BIGINT, escape STRING, pattern STRING, replacement STRING) WITH (PARTITIONS = 1);
INSERT INTO bad (id, s, n, escape, pattern, replacement) VALUES (1, 'abc', 1, '\u004b', 'b', '<$0>'), (2, 'abc', -1, '\uZZZZ', '(b)\1', '$2'), (3, NULL, NULL, '\u00', 'a(?=b)', '$'), (4, 'abc', 2, '\u0041', '(?<x>c)', '${x}');
CREATE STREAM masked_bad AS SELECT id, MASK_LEFT(s, n) AS m FROM bad;
CREATE STREAM mask_char_bad AS SELECT id, MASK(s, CASE WHEN id = 4 THEN '**' ELSE '*' END, NULL, NULL, NULL) AS m FROM bad;
CREATE STREAM instr_bad AS SELECT id, INSTR(s, 'b', n) AS i, ELT(n, s) AS e FROM bad;
CREATE STREAM chr_bad AS SELECT id, CHR(escape) AS c FROM bad;
CREATE STREAM regex_bad AS SELECT id, REGEXP_EXTRACT(pattern, s) AS e FROM bad;
CREATE STREAM replace_bad AS SELECT id, REGEXP_REPLACE(s, 'b|c', replacement) AS r FROM bad;
-- @settle
SELECT id, m FROM masked_bad;
SELECT id, m FROM mask_char_bad;
SELECT id, i, e FROM instr_bad;
SELECT id, c FROM chr_bad;
SELECT id, e FROM regex_bad;
SELECT id, r FROM replace_bad;
SELECT query_id, message FROM eddy_processing_log;
