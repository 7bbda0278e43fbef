-- ksqlDB's URL functions: URL_ENCODE_PARAM and URL_DECODE_PARAM (form encoding) and
-- URL_EXTRACT_FRAGMENT, _HOST, _PARAMETER, _PATH, _PORT, _PROTOCOL and _QUERY, which split a
-- URL as Java's java.net.URI does, each with ksqlDB's documented examples and its NULL and
-- edge cases, answered alike by pull, push and persistent queries. A URL Java cannot parse
-- is an error of its row, shown at the end.

CREATE STREAM params (id BIGINT, plain STRING, encoded STRING) WITH (PARTITIONS = 1);
INSERT INTO params (id, plain, encoded) VALUES
    (1, 'url encoded', 'url%20encoded'),
    (2, '?foo $bar', '%3Ffoo+%24bar'),
    (3, 'foo.-*_bar', 'foo.-*_bar'),
    (4, 'é & ü=~', '%C3%A9+%26+%C3%BC%3D%7E'),
    (5, '', ''),
    (6, NULL, NULL),
    (7, 'a+b', 'a%2Bb%2b');
-- @each-kind
SELECT id, URL_ENCODE_PARAM(plain) AS encoded, URL_DECODE_PARAM(encoded) AS decoded FROM params;

CREATE STREAM urls (id BIGINT, url STRING) WITH (PARTITIONS = 1);
INSERT INTO urls (id, url) VALUES
    (1, 'http://test.com#frag'),
    (2, 'http://test.com#frag%20space'),
    (3, 'http://test.com:8080/path'),
    (4, 'http://test.com?a%20b=c%20d'),
    (5, 'http://test.com?a=foo&b=bar'),
    (6, 'http://test.com/path/to#a'),
    (7, 'http://localhost:8080/path'),
    (8, 'http://test.com?a=foo%20bar&b=baz'),
    (9, 'https://docs.confluent.io/current/ksql/docs/syntax-reference.html?a=b&foo%20bar=baz&c=d&e#scalar-functions'),
    (10, 'https:///current/ksql/docs/syntax-reference.html#scalar-functions'),
    (11, '///current/ksql/docs/syntax-reference.html#scalar-functions'),
    (12, 'https://docs.confluent.io'),
    (13, 'https://docs.confluent.io/'),
    (14, 'http://user:pw@my_host.example:80/a?b'),
    (15, 'http://[2001:db8::1]:9092/kafka?topic=t'),
    (16, 'mailto:someone@example.com'),
    (17, 'HTTP://Example.COM:80/A%2FB'),
    (18, ''),
    (19, NULL);
-- @each-kind
SELECT id, URL_EXTRACT_PROTOCOL(url) AS protocol, URL_EXTRACT_HOST(url) AS host, URL_EXTRACT_PORT(url) AS port, URL_EXTRACT_PATH(url) AS path FROM urls;
-- @each-kind
SELECT id, URL_EXTRACT_QUERY(url) AS query, URL_EXTRACT_FRAGMENT(url) AS fragment, URL_EXTRACT_PARAMETER(url, 'a b') AS a_b, URL_EXTRACT_PARAMETER(url, 'b') AS b, URL_EXTRACT_PARAMETER(url, 'e') AS e FROM urls;
-- @each-kind
SELECT id, URL_EXTRACT_PARAMETER(url, NULL) AS no_name FROM urls WHERE id = 5;

-- Where ksqlDB's function throws, the row is set aside with the reason: a URL Java cannot
-- parse, and a `%` URL_DECODE_PARAM cannot read.
CREATE STREAM bad_urls (id BIGINT, url STRING) WITH (PARTITIONS = 1);
INSERT INTO bad_urls (id, url) VALUES (1, 'http://257.1/bogus/[url'), (2, 'http://a b/'), (3, 'http://test.com/%zz');
CREATE STREAM hosts AS SELECT id, URL_EXTRACT_HOST(url) AS host FROM bad_urls;
CREATE STREAM decoded AS SELECT id, URL_DECODE_PARAM(url) AS decoded FROM bad_urls;
-- @settle
SELECT id, host FROM hosts;
SELECT message FROM eddy_processing_log WHERE query_id LIKE 'CSAS_HOSTS%';
SELECT id, decoded FROM decoded;
SELECT message FROM eddy_processing_log WHERE query_id LIKE 'CSAS_DECODED%';
