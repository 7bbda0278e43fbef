//! The parser must answer every input with statements or an error, never a panic or a stack
//! overflow: a client controls the text and the server parses it on a connection task. Fed
//! here: every prefix of a set of valid statements, seeded random mutations of them, and
//! deeply nested input, on a thread with a 2 MiB stack (a Tokio worker's default).
//!
//! Every syntax error must also point inside the input (or just past its end).

use eddy_parser::{ParseError, parse_sql};

const VALID_STATEMENTS: &[&str] = &[
    "CREATE STREAM clicks (user_id BIGINT KEY, url VARCHAR, tags ARRAY<STRING>, attrs MAP<STRING, ARRAY<INT>>) WITH (KAFKA_TOPIC='clicks', PARTITIONS=2);",
    "CREATE OR REPLACE SOURCE TABLE users (id INT PRIMARY KEY, address STRUCT<street STRING, geo STRUCT<lat DOUBLE, lon DOUBLE>>, total DECIMAL(10, 2));",
    "CREATE TABLE counts WITH (KAFKA_TOPIC='counts') AS SELECT k, COUNT(*) FROM s WINDOW TUMBLING (SIZE 1 MINUTE, GRACE PERIOD 10 SECONDS) GROUP BY k EMIT CHANGES;",
    "CREATE STREAM IF NOT EXISTS hopped AS SELECT * FROM s WINDOW HOPPING (SIZE 2 HOURS, ADVANCE BY 30 MINUTES, RETENTION 7 DAYS) PARTITION BY a->b, c EMIT FINAL;",
    "SELECT user_id, COUNT(*) FROM clicks WINDOW SESSION (30 MINUTES, GRACE PERIOD 1 SECOND) GROUP BY user_id EMIT CHANGES LIMIT 5;",
    "SELECT * FROM clicks WHERE url LIKE '/slow%' AND s->a->b > 1 LIMIT 3 EMIT CHANGES;",
    "WITH recent AS (SELECT * FROM t WHERE ts > $1) SELECT o.id, u.name FROM recent o JOIN users u ON o.user_id = u.id ORDER BY 1 LIMIT 10;",
    "INSERT INTO clicks (user_id, url) VALUES (1, '/a'), ($1, 'it''s'), (-2, NULL);",
    "INSERT INTO sink WITH (QUERY_ID='q') SELECT * FROM src PARTITION BY k EMIT CHANGES;",
    "COPY (SELECT * FROM clicks EMIT CHANGES) TO STDOUT;",
    "COPY clicks (user_id, url) FROM STDIN WITH (FORMAT csv, DELIMITER E'\\t', NULL 'NA', HEADER true, QUOTE '''', ESCAPE '\\'); COPY s FROM STDIN CSV HEADER DELIMITER AS ';';",
    "DELETE FROM users WHERE id = $1 AND name <> 'x';",
    "SHOW STREAMS EXTENDED; LIST TABLES; SHOW QUERIES; SHOW PROPERTIES; SHOW server_version; SHOW TIME ZONE;",
    "DESCRIBE EXTENDED \"Clicks\"; TERMINATE CSAS_X_1; TERMINATE ALL; DROP STREAM IF EXISTS s DELETE TOPIC;",
    "SET 'auto.offset.reset' = 'earliest'; UNSET 'auto.offset.reset'; SET SESSION datestyle TO ISO, 'MDY'; RESET ALL;",
    "BEGIN TRANSACTION ISOLATION LEVEL READ COMMITTED, READ ONLY; COMMIT AND NO CHAIN; ROLLBACK WORK; ABORT;",
    "SELECT CASE WHEN a THEN 'x' ELSE `Y` END, CAST(b AS INT), arr[1], m['k'] FROM \"T\" /* comment ; */ -- tail\n;",
    "SELECT 'ünïcödé' AS ü FROM s WHERE x = E'\\n' OR y = $$dollar$$;",
];

/// Deterministic pseudo-random numbers (xorshift64*), so a failure replays.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, bound: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(bound.max(1)).expect("usize fits in u64"))
            .expect("a value below a usize fits in usize")
    }
}

/// Pieces that stress the grammar when spliced in anywhere.
const SPLICES: &[&str] = &[
    "(",
    ")",
    "<",
    ">",
    ">>",
    ",",
    ";",
    "'",
    "\"",
    "`",
    "$1",
    "->",
    "EMIT",
    "CHANGES",
    "WINDOW",
    "TUMBLING",
    "SESSION",
    "PARTITION BY",
    "WITHIN",
    "GRACE PERIOD",
    "SIZE",
    "KEY",
    "PRIMARY",
    "ARRAY<",
    "MAP<",
    "STRUCT<",
    "DECIMAL(",
    "WITH (",
    "AS",
    "SELECT",
    "FROM",
    "LIMIT",
    "0",
    "99999999999999999999",
    "-",
    "/*",
    "--",
    "\n",
    "é",
    "☃",
    "",
    " ",
];

fn check(sql: &str) {
    let input_chars = sql.chars().count();
    if let Err(ParseError::Syntax { position_chars, .. }) = parse_sql(sql) {
        assert!(
            (1..=input_chars + 1).contains(&position_chars),
            "position {position_chars} outside input of {input_chars} chars: {sql:?}"
        );
    }
}

fn mutate(statement: &str, random: &mut Random) -> String {
    let characters: Vec<char> = statement.chars().collect();
    let at = random.below(characters.len() + 1);
    let (before, after) = characters.split_at(at);
    let before: String = before.iter().collect();
    let after: String = after.iter().collect();
    match random.below(3) {
        0 => format!("{before}{}{after}", SPLICES[random.below(SPLICES.len())]),
        1 => {
            let skipped: String = after.chars().skip(1 + random.below(8)).collect();
            format!("{before}{skipped}")
        }
        _ => {
            let other = VALID_STATEMENTS[random.below(VALID_STATEMENTS.len())];
            let cut = other
                .char_indices()
                .nth(random.below(other.len()))
                .map_or(0, |(i, _)| i);
            format!("{before}{}{after}", &other[cut..])
        }
    }
}

fn on_small_stack(test: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(test)
        .expect("a test thread starts")
        .join()
        .expect("the parser neither panics nor overflows its stack");
}

#[test]
fn valid_statements_parse() {
    for statement in VALID_STATEMENTS {
        assert!(parse_sql(statement).is_ok(), "{statement}");
    }
}

#[test]
fn every_prefix_of_valid_statements() {
    on_small_stack(|| {
        for statement in VALID_STATEMENTS {
            for (end, _) in statement.char_indices() {
                check(&statement[..end]);
            }
        }
    });
}

#[test]
fn seeded_random_mutations() {
    on_small_stack(|| {
        let mut random = Random(0x00ed_d1e5_eed0_0001);
        for statement in VALID_STATEMENTS {
            let mut mutated = statement.to_string();
            for round in 0..400 {
                if round % 8 == 0 {
                    mutated = statement.to_string();
                }
                mutated = mutate(&mutated, &mut random);
                check(&mutated);
            }
        }
    });
}

#[test]
fn long_flat_chains_parse_or_fail_cleanly() {
    on_small_stack(|| {
        let length = 5_000;
        for (head, link) in [
            ("SELECT 1", " UNION SELECT 1"),
            ("SELECT 1", " UNION ALL (SELECT 1)"),
            ("SELECT a", " AND a"),
            ("SELECT a", " || a"),
            ("SELECT a", " ^ a"),
            ("SELECT a", " IS NULL"),
            ("SELECT a", "->b"),
            ("SELECT a", "::INT"),
            ("SELECT a", "[1]"),
            ("SELECT a", " COLLATE c"),
            ("SELECT a", " AT TIME ZONE 'UTC'"),
            ("SELECT * FROM a", " JOIN a ON TRUE"),
            ("SELECT * FROM a", ", a"),
            ("SELECT ", "INTERVAL "),
            ("SELECT ", "EXISTS "),
            ("SELECT ", "NOT "),
            ("SELECT ", "~"),
            ("SELECT ", "+"),
            ("INSERT INTO s VALUES (1)", ", (1)"),
            ("WITH a AS (SELECT 1)", ", a AS (SELECT 1)"),
        ] {
            let chain = format!("{head}{}", link.repeat(length));
            check(&chain);
            check(&format!("{chain} FROM s EMIT CHANGES"));
        }
    });
}

#[test]
fn deeply_nested_input_is_an_error() {
    on_small_stack(|| {
        let depth = 5_000;
        for (open, middle, close) in [
            ("(", "1", ")"),
            ("ARRAY<", "INT", ">"),
            ("STRUCT<a ", "INT", ">"),
            ("- ", "1", ""),
            ("NOT ", "a", ""),
            ("f(", "1", ")"),
            ("[", "1", "]"),
            ("CASE WHEN ", "a", " THEN 1 END"),
            ("(SELECT * FROM ", "s", ")"),
        ] {
            let nested = format!("{}{middle}{}", open.repeat(depth), close.repeat(depth));
            for sql in [
                format!("SELECT {nested}"),
                format!("SELECT CAST(x AS {nested})"),
                format!("CREATE STREAM s (a {nested})"),
                format!("SELECT * FROM s PARTITION BY {nested}"),
                format!("INSERT INTO s VALUES ({nested})"),
                format!("COPY ({nested}) TO STDOUT"),
                nested.clone(),
            ] {
                check(&sql);
            }
        }
    });
}
