-- Users and privileges, as Postgres spells and answers them. This session came in without
-- a password (no user existed yet), so it may do everything; the privileges' effect on
-- other users' logins is tested against the binary (cli/tests/e2e/security.rs).
CREATE STREAM clicks (user_id BIGINT KEY, url STRING);
CREATE USER alice WITH PASSWORD 'alice secret';
CREATE ROLE bob LOGIN SUPERUSER PASSWORD 'bob secret';
CREATE USER alice;
CREATE USER carol NOLOGIN;
GRANT SELECT, INSERT ON clicks TO alice;
GRANT CREATE ON DATABASE eddy TO alice;
GRANT SELECT ON missing TO alice;
GRANT SELECT ON clicks TO nobody;
GRANT SELECT ON DATABASE eddy TO alice;
GRANT CREATE ON clicks TO alice;
GRANT UPDATE ON clicks TO alice;
REVOKE ALL PRIVILEGES ON STREAM clicks FROM alice;
REVOKE CREATE ON DATABASE eddy FROM alice;
ALTER USER alice WITH PASSWORD NULL;
ALTER ROLE bob NOSUPERUSER;
ALTER USER nobody WITH PASSWORD 'x';
ALTER STREAM clicks RENAME TO taps;
DROP USER bob;
DROP USER bob;
DROP ROLE IF EXISTS bob;
