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
