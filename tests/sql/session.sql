-- Session properties and the settings Postgres clients send.
SHOW PROPERTIES;
SET 'auto.offset.reset' = 'earliest';
SHOW PROPERTIES;
SET 'auto.offset.reset' = 'sometimes';
UNSET 'auto.offset.reset';
SHOW PROPERTIES;
SET 'processing.guarantee' = 'exactly_once_v2';
SET extra_float_digits = 3;
SET application_name = 'script';
SET client_encoding TO 'UTF8';
SET client_encoding = 'LATIN1';
SET datestyle = 'ISO, MDY';
SHOW application_name;
-- A client setting the session never set shows Postgres' default.
SHOW search_path;
SHOW client_min_messages;
SHOW statement_timeout;
SHOW server_version;
SHOW transaction_isolation;
SHOW standard_conforming_strings;
SHOW no_such_setting;
RESET application_name;
SHOW application_name;
BEGIN;
SELECT 1 AS one;
COMMIT;
START TRANSACTION;
ROLLBACK;
SELECT 1 + 1 AS two, 'text' AS word, NULL AS nothing;

-- version() reads as Postgres 15 and names Eddy, as drivers and BI tools expect; Postgres'
-- system functions may be named in schema pg_catalog.
SELECT version() LIKE 'PostgreSQL 15.0 (Eddy %, 64-bit' AS reads_as_postgres, pg_catalog.version() = version() AS same_in_pg_catalog;

-- Postgres' format(): %s (NULL as nothing), %I (quoted as quote_ident quotes), %L (quoted
-- as a literal, NULL bare), %%, positions and widths; its errors are Postgres'.
SELECT format('%s|%I.%I|%L|%L|%%', NULL, 'public', 'Clicks', 'O''Reilly', NULL) AS formatted;
SELECT format('%2$s %1$s|%-4s|%3s|', 'a', 'b', 'c') AS positioned;
SELECT format('%I', NULL) AS refused;
SELECT format('%s %s', 'only one') AS refused;
SELECT format('%x', 1) AS refused;
SELECT quote_ident('user') AS reserved, quote_ident('int') AS type_name, quote_ident('abort') AS unreserved;

-- pg_get_keywords(): Postgres 15's key words with their categories.
SELECT word, catcode, barelabel, catdesc, baredesc FROM pg_catalog.pg_get_keywords() WHERE word IN ('abort', 'between', 'left', 'select', 'as') ORDER BY word;
SELECT catcode, COUNT(*) AS words FROM pg_get_keywords() GROUP BY catcode ORDER BY catcode;
-- An array literal cast to an array is its elements (pgjdbc's getSQLKeywords).
SELECT word FROM pg_get_keywords() WHERE word <> ALL ('{a,abort,absolute}'::text[]) AND word < 'add' ORDER BY word;

-- IN (subquery) in a SELECT list and an ORDER BY, with Postgres' NULLs (Grafana's pickers).
SELECT nspname, nspname IN (SELECT 'public' UNION ALL SELECT NULL) AS listed, nspname NOT IN (SELECT 'public') AS unlisted FROM pg_namespace ORDER BY CASE WHEN nspname IN (SELECT 'public') THEN 0 ELSE 1 END, nspname;
-- Correlated too, in a SELECT list; where DataFusion cannot run one (a correlated subquery
-- in ORDER BY), the error says it is not supported.
SELECT nspname, 'pg_class' IN (SELECT relname FROM pg_class c WHERE c.relnamespace = n.oid) AS has_pg_class FROM pg_namespace n ORDER BY nspname;
SELECT nspname FROM pg_namespace n ORDER BY 'pg_class' IN (SELECT relname FROM pg_class c WHERE c.relnamespace = n.oid), nspname;
SELECT * FROM pg_get_keywords(1);
