-- UPDATE, DELETE with any predicate, and INSERT INTO table .. SELECT, on source tables (as
-- RisingWave and Materialize offer them; ksqlDB has none of the three). Each statement is
-- one change of its table: a query over the table's current rows, written under its lock.
CREATE TABLE accounts (id BIGINT PRIMARY KEY, owner STRING, region STRING, balance INT) WITH (PARTITIONS = 3);
INSERT INTO accounts (id, owner, region, balance) VALUES
    (1, 'ada', 'eu', 100), (2, 'bob', 'us', 50), (3, 'cy', 'eu', 75), (4, 'dee', 'apac', 20), (5, 'eve', 'us', 0);
CREATE TABLE by_region AS
    SELECT region, COUNT(*) AS accounts, SUM(balance) AS total FROM accounts GROUP BY region;
-- @settle
SELECT region, accounts, total FROM by_region;

-- UPDATE: SET takes any expression of the old row; WHERE any predicate. The tag counts the
-- rows matched.
UPDATE accounts SET balance = balance + 10 WHERE region = 'eu';
UPDATE accounts SET owner = UCASE(owner), region = CONCAT(region, '-west') WHERE balance < 60 AND id <> 4;
UPDATE accounts SET balance = balance * 2;
UPDATE accounts SET balance = 0 WHERE owner = 'nobody';
UPDATE accounts SET balance = NULL WHERE id = 4;
UPDATE accounts SET region = 'eu', balance = COALESCE(balance, 0) + LEN(owner) WHERE rowtime > 0 AND owner LIKE 'd%';
SELECT id, owner, region, balance FROM accounts;
-- The aggregate over the table follows each change.
-- @settle
SELECT region, accounts, total FROM by_region;

-- A subscriber sees each updated row's new values, and deleted rows as deletes.
-- @push 4
SELECT id, owner, balance FROM accounts WHERE balance > 100 EMIT CHANGES;
UPDATE accounts SET balance = balance + 1000 WHERE id IN (1, 2);
DELETE FROM accounts WHERE owner = 'ada';
UPDATE accounts SET balance = 1 WHERE id = 2;
-- @await-push

-- DELETE: by any predicate, by the whole key (a key lookup), or everything. The tag counts
-- the rows deleted.
DELETE FROM accounts WHERE balance < 2 OR region = 'nowhere';
DELETE FROM accounts WHERE id = 3;
DELETE FROM accounts WHERE id = 3;
SELECT id, owner, region, balance FROM accounts;
-- @settle
SELECT region, accounts, total FROM by_region;
INSERT INTO accounts (id, owner, region, balance) VALUES (6, 'flo', 'eu', 1), (7, 'gil', 'us', 2);
DELETE FROM accounts;
SELECT id, owner, region, balance FROM accounts;
-- @settle
SELECT region, accounts, total FROM by_region;

-- INSERT INTO table .. SELECT: the SELECT runs once and its rows are upserted by key, cast
-- to the table's columns as INSERT VALUES casts them.
CREATE STREAM signups (id BIGINT KEY, name STRING, country STRING, credit STRING) WITH (PARTITIONS = 2);
INSERT INTO signups (id, name, country, credit) VALUES
    (10, 'fay', 'eu', '5'), (11, 'gus', 'us', '7'), (12, 'hal', 'eu', '9'), (10, 'fay', 'us', '6');
INSERT INTO accounts SELECT id, name, country, credit FROM signups WHERE id < 12;
SELECT id, owner, region, balance FROM accounts;
CREATE TABLE bonuses (id BIGINT PRIMARY KEY, amount INT);
INSERT INTO bonuses VALUES (11, 100), (12, 200);
INSERT INTO accounts SELECT id, 'bonus', 'none', amount FROM bonuses;
-- From the table itself: a copy of each row under a new key.
INSERT INTO accounts SELECT id + 100, owner, region, balance * 10 FROM accounts WHERE region <> 'none';
INSERT INTO accounts SELECT id, owner, region, balance FROM accounts WHERE id > 1000;
SELECT id, owner, region, balance FROM accounts;
CREATE TABLE accounts_copy (id BIGINT PRIMARY KEY, owner STRING, region STRING, balance BIGINT);
INSERT INTO accounts_copy SELECT * FROM accounts WHERE balance >= 100;
SELECT id, owner, region, balance FROM accounts_copy;
-- @settle
SELECT region, accounts, total FROM by_region;

-- Mistakes.
UPDATE signups SET name = 'x';
DELETE FROM signups WHERE name = 'fay';
UPDATE by_region SET total = 0;
DELETE FROM by_region WHERE region = 'eu';
INSERT INTO by_region SELECT region, 1, 1 FROM accounts;
UPDATE accounts SET id = 7 WHERE id = 10;
UPDATE accounts SET rowtime = 0;
UPDATE accounts SET rowoffset = 0;
UPDATE accounts SET missing = 1;
UPDATE accounts SET balance = 1, balance = 2;
UPDATE accounts SET balance = owner WHERE id = 10;
UPDATE accounts SET balance = ARRAY[1];
UPDATE accounts SET balance = 1 WHERE missing = 1;
UPDATE missing SET balance = 1;
UPDATE accounts SET balance = $1;
DELETE FROM accounts WHERE id = $1;
INSERT INTO accounts_copy SELECT * FROM accounts WHERE balance >= $2;
INSERT INTO accounts SELECT id, name, country, name AS credit FROM signups;
INSERT INTO accounts SELECT id, name FROM signups;
INSERT INTO accounts SELECT id, name, country, credit FROM signups EMIT CHANGES;
INSERT INTO accounts SELECT NULL, 'nobody', 'none', 1 FROM bonuses;
SELECT id, owner, region, balance FROM accounts;
