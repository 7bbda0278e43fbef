-- Pull queries that join tables: every table, and both sides of a self-join, are read as one
-- snapshot of the store holds them.
CREATE TABLE owners (id BIGINT PRIMARY KEY, name STRING);
CREATE TABLE pets (id BIGINT PRIMARY KEY, owner BIGINT, pet STRING) WITH (PARTITIONS = 2);
INSERT INTO owners VALUES (1, 'ada'), (2, 'grace'), (3, 'linus');
INSERT INTO pets VALUES (10, 1, 'cat'), (20, 2, 'dog'), (21, 2, 'owl'), (30, 9, 'stray');
SELECT o.name, p.pet FROM owners o JOIN pets p ON p.owner = o.id ORDER BY p.pet;
SELECT o.name, p.pet FROM owners o LEFT JOIN pets p ON p.owner = o.id ORDER BY o.name, p.pet;
SELECT o.name, p.pet FROM owners o FULL JOIN pets p ON p.owner = o.id ORDER BY o.name, p.pet;
-- A key lookup on one side, a self-join, subqueries.
SELECT o.name, p.pet FROM owners o JOIN pets p ON p.owner = o.id WHERE o.id = 2 ORDER BY p.pet;
SELECT a.pet, b.pet AS sibling FROM pets a JOIN pets b ON a.owner = b.owner WHERE a.id <> b.id ORDER BY a.pet;
SELECT name FROM owners WHERE id NOT IN (SELECT owner FROM pets) ORDER BY name;
SELECT name, (SELECT COUNT(*) FROM pets p WHERE p.owner = o.id) AS pets FROM owners o ORDER BY name;
-- After updates and deletes on both sides, and across a restart.
UPDATE owners SET name = 'grace hopper' WHERE id = 2;
DELETE FROM pets WHERE id = 21;
DELETE FROM owners WHERE id = 1;
INSERT INTO pets VALUES (31, 3, 'penguin');
SELECT o.name, p.pet FROM owners o JOIN pets p ON p.owner = o.id ORDER BY p.pet;
SELECT o.name, COUNT(p.id) AS pets FROM owners o LEFT JOIN pets p ON p.owner = o.id GROUP BY o.name ORDER BY o.name;
-- @restart
SELECT o.name, p.pet FROM owners o RIGHT JOIN pets p ON p.owner = o.id ORDER BY p.pet;
