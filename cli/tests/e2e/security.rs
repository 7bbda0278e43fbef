//! Passwords, privileges and TLS against the real binary: a superuser from `--user`, users
//! made with CREATE USER, SCRAM logins (wrong password and unknown user both 28P01, as in
//! Postgres), GRANT/REVOKE checked on every statement (42501), all kept across a restart;
//! psql over TLS with `sslmode=require` and `verify-full` against a throwaway CA made with
//! the `openssl` command; and the refusal to listen beyond loopback without any user.
//!
//! Never: assert on time. Every wait is for an event, bounded so that a hang fails.

use std::path::Path;
use std::process::{Command, Stdio};

use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls};

use super::{Server, execute};

const ADMIN_PASSWORD: &str = "admin secret";
const ALICE_PASSWORD: &str = "alice secret";

/// `eddy serve` with the superuser `admin`, its password in a file beside the data.
fn start_with_admin(data_dir: &Path, extra_args: &[&str]) -> Server {
    let password_file = data_dir.with_extension("password");
    std::fs::write(&password_file, format!("{ADMIN_PASSWORD}\n")).expect("password file");
    let password_file = password_file.to_str().expect("UTF-8 path").to_owned();
    let mut args = vec!["--user", "admin", "--password-file", &password_file];
    args.extend_from_slice(extra_args);
    Server::start(data_dir, &args)
}

async fn login(
    server: &Server,
    user: &str,
    password: &str,
) -> Result<Client, tokio_postgres::Error> {
    let config = format!(
        "host=127.0.0.1 port={} user={user} password='{password}' dbname=eddy",
        server.port()
    );
    let (client, connection) = tokio_postgres::connect(&config, NoTls).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

async fn login_as(server: &Server, user: &str, password: &str) -> Client {
    login(server, user, password)
        .await
        .unwrap_or_else(|error| panic!("{user} logs in: {error}"))
}

fn code(error: &tokio_postgres::Error) -> Option<&str> {
    error.code().map(SqlState::code)
}

async fn refused_login_code(server: &Server, user: &str, password: &str) -> Option<String> {
    match login(server, user, password).await {
        Ok(_) => panic!("{user} logged in with a wrong password"),
        Err(error) => code(&error).map(str::to_owned),
    }
}

/// The SQLSTATE `sql` fails with; None when it succeeds.
async fn outcome(client: &Client, sql: &str) -> Option<String> {
    match client.batch_execute(sql).await {
        Ok(()) => None,
        Err(error) => Some(code(&error).unwrap_or("no code").to_owned()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwords_and_privileges_hold_and_survive_a_restart() {
    let data = tempfile::tempdir().expect("temporary directory");
    let server = start_with_admin(data.path(), &[]);
    assert!(
        login(&server, "eddy", "").await.is_err(),
        "with a user, a login without a password is refused"
    );
    assert_eq!(
        refused_login_code(&server, "admin", "wrong")
            .await
            .as_deref(),
        Some("28P01")
    );
    assert_eq!(
        refused_login_code(&server, "nobody", "anything")
            .await
            .as_deref(),
        Some("28P01"),
        "an unknown user is answered as a wrong password, as Postgres does"
    );
    let admin = login_as(&server, "admin", ADMIN_PASSWORD).await;
    execute(
        &admin,
        &format!(
            "CREATE STREAM clicks (user_id BIGINT KEY, url STRING); \
             CREATE STREAM secrets (id BIGINT KEY, note STRING); \
             INSERT INTO clicks VALUES (1, '/a'); \
             CREATE USER alice WITH PASSWORD '{ALICE_PASSWORD}'; \
             GRANT SELECT ON clicks TO alice"
        ),
    )
    .await;
    assert_eq!(
        outcome(&admin, "CREATE USER alice PASSWORD 'x'")
            .await
            .as_deref(),
        Some("42710")
    );
    assert_eq!(
        outcome(&admin, "GRANT SELECT ON missing TO alice")
            .await
            .as_deref(),
        Some("42P01")
    );

    let alice = login_as(&server, "alice", ALICE_PASSWORD).await;
    let rows = alice
        .query("SELECT url FROM clicks", &[])
        .await
        .expect("SELECT ON clicks was granted");
    assert_eq!(rows.len(), 1);
    for refused in [
        "INSERT INTO clicks VALUES (2, '/b')",
        "SELECT * FROM secrets",
        "SELECT c.url FROM clicks c JOIN secrets s ON c.user_id = s.id",
        "CREATE STREAM copied AS SELECT * FROM clicks",
        "CREATE STREAM mine (id BIGINT KEY)",
        "CREATE USER mallory PASSWORD 'x'",
        "GRANT SELECT ON secrets TO alice",
    ] {
        assert_eq!(
            outcome(&alice, refused).await.as_deref(),
            Some("42501"),
            "{refused}"
        );
    }
    assert_eq!(
        alice
            .query("SELECT note FROM secrets WHERE id = $1", &[&1i64])
            .await
            .err()
            .as_ref()
            .and_then(code),
        Some("42501"),
        "a prepared pull query is checked too"
    );

    execute(
        &admin,
        "GRANT INSERT ON clicks TO alice; GRANT CREATE ON DATABASE eddy TO alice",
    )
    .await;
    execute(
        &alice,
        "INSERT INTO clicks VALUES (2, '/b'); CREATE STREAM copied AS SELECT * FROM clicks",
    )
    .await;
    execute(&admin, "REVOKE INSERT ON clicks FROM alice").await;
    assert_eq!(
        outcome(&alice, "INSERT INTO clicks VALUES (3, '/c')")
            .await
            .as_deref(),
        Some("42501"),
        "a REVOKE holds for a session already open"
    );
    drop(alice);
    drop(admin);
    server.stop();

    let server = Server::start(data.path(), &[]);
    assert_eq!(
        refused_login_code(&server, "alice", "wrong")
            .await
            .as_deref(),
        Some("28P01")
    );
    let alice = login_as(&server, "alice", ALICE_PASSWORD).await;
    assert_eq!(
        outcome(&alice, "SELECT * FROM clicks").await,
        None,
        "grants survive a restart"
    );
    assert_eq!(
        outcome(&alice, "SELECT * FROM secrets").await.as_deref(),
        Some("42501")
    );
    assert_eq!(
        outcome(&alice, "INSERT INTO clicks VALUES (3, '/c')")
            .await
            .as_deref(),
        Some("42501"),
        "a revoke survives a restart"
    );
    execute(&alice, "ALTER USER alice WITH PASSWORD 'changed'").await;
    assert_eq!(
        outcome(&alice, "ALTER USER alice WITH SUPERUSER")
            .await
            .as_deref(),
        Some("42501")
    );
    login_as(&server, "alice", "changed").await;
    let admin = login_as(&server, "admin", ADMIN_PASSWORD).await;
    assert_eq!(
        outcome(&admin, "DROP USER admin").await.as_deref(),
        Some("55006")
    );
    execute(&admin, "DROP USER alice; DROP USER IF EXISTS alice").await;
    assert_eq!(
        refused_login_code(&server, "alice", "changed")
            .await
            .as_deref(),
        Some("28P01")
    );
    assert_eq!(
        outcome(&admin, "DROP USER alice").await.as_deref(),
        Some("42704")
    );
    server.stop();
}

/// The first value of the first row of a simple query, as text.
async fn value(client: &Client, sql: &str) -> String {
    let rows = client
        .simple_query(sql)
        .await
        .unwrap_or_else(|error| panic!("{sql}: {error}"));
    rows.into_iter()
        .find_map(|message| match message {
            tokio_postgres::SimpleQueryMessage::Row(row) => {
                Some(row.get(0).unwrap_or("NULL").to_owned())
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("{sql}: no rows"))
}

/// psql, logged in as `admin`, running one backslash command.
fn psql_as_admin(server: &Server, command: &str) -> String {
    let output = Command::new("psql")
        .args(["-h", "127.0.0.1", "-p", &server.port().to_string()])
        .args(["-U", "admin", "-d", "eddy", "-X", "-v", "ON_ERROR_STOP=1"])
        .args(["-P", "pager=off", "-c", command])
        .env("PGPASSWORD", ADMIN_PASSWORD)
        .output()
        .expect("psql runs (install postgresql-client)");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stderr.is_empty(),
        "{command}: {stderr}"
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Users and grants as clients read them: psql's `\du` and `\dp`, `has_table_privilege`,
/// `is_superuser` and `current_user` per session; and a DROP revokes its source's grants,
/// so a source created again under the name starts without them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_and_grants_show_in_the_catalog_and_go_with_their_source() {
    let data = tempfile::tempdir().expect("temporary directory");
    let server = start_with_admin(data.path(), &[]);
    let admin = login_as(&server, "admin", ADMIN_PASSWORD).await;
    execute(
        &admin,
        &format!(
            "CREATE TABLE accounts (id BIGINT PRIMARY KEY, owner STRING); \
             CREATE STREAM audit (id BIGINT KEY, note STRING); \
             CREATE USER alice WITH PASSWORD '{ALICE_PASSWORD}'; \
             CREATE USER bob; \
             GRANT SELECT, INSERT ON accounts TO alice; \
             GRANT SELECT ON audit TO alice"
        ),
    )
    .await;
    insta::assert_snapshot!("catalog_du", psql_as_admin(&server, "\\du"), "\\du");
    insta::assert_snapshot!("catalog_dp", psql_as_admin(&server, "\\dp"), "\\dp");
    assert_eq!(value(&admin, "SHOW is_superuser").await, "on");

    let alice = login_as(&server, "alice", ALICE_PASSWORD).await;
    for (sql, expected) in [
        ("SHOW is_superuser", "off"),
        ("SELECT current_setting('is_superuser')", "off"),
        ("SHOW session_authorization", "alice"),
        ("SELECT current_user", "alice"),
        ("SELECT has_table_privilege('accounts', 'SELECT')", "t"),
        ("SELECT has_table_privilege('accounts', 'UPDATE')", "t"),
        ("SELECT has_table_privilege('audit', 'INSERT')", "f"),
        ("SELECT has_table_privilege('audit', 'select, insert')", "t"),
        (
            "SELECT has_table_privilege('bob', 'accounts', 'SELECT')",
            "f",
        ),
        (
            "SELECT has_table_privilege('admin', 'audit', 'INSERT')",
            "t",
        ),
        (
            "SELECT has_table_privilege('pg_catalog.pg_class', 'SELECT')",
            "t",
        ),
    ] {
        assert_eq!(value(&alice, sql).await, expected, "{sql}");
    }
    assert_eq!(
        outcome(
            &alice,
            "SELECT has_table_privilege('nobody', 'audit', 'SELECT')"
        )
        .await
        .as_deref(),
        Some("42704")
    );
    assert_eq!(
        outcome(&alice, "SELECT has_table_privilege('missing', 'SELECT')")
            .await
            .as_deref(),
        Some("42P01")
    );

    execute(
        &admin,
        "DROP STREAM audit; CREATE STREAM audit (id BIGINT KEY, note STRING)",
    )
    .await;
    assert_eq!(
        value(&alice, "SELECT has_table_privilege('audit', 'SELECT')").await,
        "f",
        "a new source of a dropped one's name has none of its grants"
    );
    assert_eq!(
        outcome(&alice, "SELECT * FROM audit").await.as_deref(),
        Some("42501")
    );
    drop(alice);
    drop(admin);
    server.stop();
}

#[test]
fn serve_refuses_to_listen_beyond_loopback_without_a_user() {
    let data = tempfile::tempdir().expect("temporary directory");
    let output = Command::new(env!("CARGO_BIN_EXE_eddy"))
        .arg("serve")
        .arg("--data-dir")
        .arg(data.path())
        .args(["--listen", "0.0.0.0:0"])
        .env("RUST_LOG", "error")
        .stdin(Stdio::null())
        .output()
        .expect("eddy runs");
    assert!(!output.status.success());
    assert!(output.stdout.is_empty(), "it never says it is listening");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--insecure"), "{stderr}");
}

/// A CA and a certificate for `localhost` and 127.0.0.1 signed by it, made with openssl.
fn make_certificates(directory: &Path) {
    let run = |args: &[&str]| {
        let output = Command::new("openssl")
            .args(args)
            .current_dir(directory)
            .output()
            .expect("openssl runs (install openssl)");
        assert!(
            output.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    let elliptic_key = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509", "-days", "2", "-subj", "/CN=Eddy test CA"];
    ca.extend_from_slice(&elliptic_key);
    ca.extend_from_slice(&["-keyout", "ca.key", "-out", "ca.pem"]);
    run(&ca);
    let mut request = vec!["req", "-subj", "/CN=localhost"];
    request.extend_from_slice(&elliptic_key);
    request.extend_from_slice(&["-keyout", "server.key", "-out", "server.csr"]);
    run(&request);
    std::fs::write(
        directory.join("server.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
    )
    .expect("extensions file");
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "server.ext",
        "-out",
        "server.pem",
    ]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psql_logs_in_over_tls_with_require_and_verify_full() {
    let certificates = tempfile::tempdir().expect("temporary directory");
    make_certificates(certificates.path());
    let path = |name: &str| {
        certificates
            .path()
            .join(name)
            .to_str()
            .expect("UTF-8 path")
            .to_owned()
    };
    let data = tempfile::tempdir().expect("temporary directory");
    let (certificate, key) = (path("server.pem"), path("server.key"));
    let server = start_with_admin(
        data.path(),
        &["--tls-cert", &certificate, "--tls-key", &key],
    );
    let psql = |connection: String, password: &str| {
        let output = Command::new("psql")
            .arg(connection)
            .args([
                "-X",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                "\\conninfo",
                "-c",
                "SELECT 41 + 1",
            ])
            .env("PGPASSWORD", password)
            .stdin(Stdio::null())
            .output()
            .expect("psql runs (install postgresql-client)");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        (output.status.success(), stdout, stderr)
    };
    let port = server.port();
    let base = format!("hostaddr=127.0.0.1 host=localhost port={port} user=admin dbname=eddy");
    for sslmode in [
        "sslmode=require".to_owned(),
        format!("sslmode=verify-full sslrootcert={}", path("ca.pem")),
    ] {
        let (ok, stdout, stderr) = psql(format!("{base} {sslmode}"), ADMIN_PASSWORD);
        assert!(ok, "{sslmode}: {stderr}");
        assert!(stdout.contains("SSL connection"), "{sslmode}: {stdout}");
        assert!(stdout.contains("42"), "{sslmode}: {stdout}");
    }
    let (ok, _, stderr) = psql(format!("{base} sslmode=require"), "wrong");
    assert!(!ok);
    assert!(
        stderr.contains("password authentication failed for user \"admin\""),
        "{stderr}"
    );
    let (ok, _, stderr) = psql(
        format!(
            "{base} sslmode=verify-full sslrootcert={}",
            path("server.pem")
        ),
        ADMIN_PASSWORD,
    );
    assert!(
        !ok,
        "verify-full refuses a certificate its root does not sign"
    );
    assert!(stderr.contains("certificate verify failed"), "{stderr}");
    server.stop();
}
