//! Joins killed with SIGKILL while rows arrive: after restarts on the same data
//! directory, a foreign-key LEFT join and a primary-key FULL join of tables equal the batch
//! join of the tables' final rows, computed here, and a stream-stream join's output stream
//! holds every pair within its window exactly once: no pair lost, none repeated by the epochs
//! recomputed after each kill; an ASOF join's output stream holds each click once, with the
//! latest view at or before it. A GROUP BY over a subquery's GROUP BY (customers per bucket
//! of their orders' total) equals the same over the final rows too.
//!
//! Each round upserts and deletes random keys of three tables and appends rows to two
//! streams, from one connection, so the final rows of each table are known here.
//!
//! Never: assert on time. Every wait is for an event, bounded so that a hang fails.

use std::collections::BTreeMap;

use super::{Server, rows, settle};

const ROUNDS: usize = 24;
/// The server is killed after these many rounds, right after their acknowledgements, while
/// the persistent queries are usually still reading them.
const KILL_AFTER_ROUNDS: [usize; 2] = [8, 16];
const KEYS: i64 = 40;
const CUSTOMERS: i64 = 12;
const EVENTS_PER_ROUND: usize = 25;
const USERS: i64 = 6;
const WITHIN_MS: i64 = 2_000;
const ASOF_GRACE_MS: i64 = 2_000;

const SETUP: &str = "
    CREATE TABLE customers (id BIGINT PRIMARY KEY, tier BIGINT) WITH (PARTITIONS = 2);
    CREATE TABLE orders (id BIGINT PRIMARY KEY, customer BIGINT, amount BIGINT) WITH (PARTITIONS = 3);
    CREATE TABLE points (id BIGINT PRIMARY KEY, points BIGINT) WITH (PARTITIONS = 1);
    CREATE TABLE order_tiers AS SELECT o.id, o.customer, o.amount, c.tier
        FROM orders o LEFT JOIN customers c ON o.customer = c.id;
    CREATE TABLE customer_points AS SELECT c.id, c.tier, p.points
        FROM customers c FULL OUTER JOIN points p ON c.id = p.id;
    CREATE TABLE total_buckets AS SELECT bucket, COUNT(*) AS customers, SUM(customer) AS customer_sum
        FROM (SELECT customer, SUM(amount) / 1000 AS bucket FROM orders GROUP BY customer) totals
        GROUP BY bucket;
    CREATE STREAM clicks (uid BIGINT KEY, page BIGINT) WITH (PARTITIONS = 2);
    CREATE STREAM views (uid BIGINT KEY, item BIGINT) WITH (PARTITIONS = 3);
    CREATE STREAM click_views AS SELECT c.uid, c.page, v.item
        FROM clicks c JOIN views v WITHIN 2 SECONDS ON c.uid = v.uid;
    CREATE STREAM click_last_view AS SELECT c.uid, c.page, v.item
        FROM clicks c ASOF LEFT JOIN views v GRACE PERIOD 2 SECONDS
        ON c.uid = v.uid AND v.rowtime <= c.rowtime;";

/// The statements of one round, and what they do to the tables kept here.
struct Round {
    statements: Vec<String>,
}

/// The rows the tables and streams hold after the rounds, as the statements left them.
#[derive(Default)]
struct Model {
    customers: BTreeMap<i64, i64>,
    orders: BTreeMap<i64, (i64, i64)>,
    points: BTreeMap<i64, i64>,
    /// (uid, rowtime, page or item) of each row of `clicks` and `views`.
    clicks: Vec<(i64, i64, i64)>,
    views: Vec<(i64, i64, i64)>,
}

impl Model {
    /// An upsert into table `name` (its columns `columns`) of some of `keys` (distinct, so
    /// one statement names each once), and a delete of others, with values from `value`.
    fn table_round<V: Copy>(
        random: &mut fastrand::Rng,
        table: &mut BTreeMap<i64, V>,
        (name, columns): (&str, &str),
        keys: i64,
        mut value: impl FnMut(&mut fastrand::Rng) -> V,
        values_sql: impl Fn(i64, V) -> String,
    ) -> Vec<String> {
        let mut shuffled: Vec<i64> = (0..keys).collect();
        random.shuffle(&mut shuffled);
        let upserts = &shuffled[..random.usize(1..6)];
        let deletes = &shuffled[upserts.len()..upserts.len() + random.usize(0..3)];
        let mut statements = Vec::new();
        let values: Vec<String> = upserts
            .iter()
            .map(|&key| {
                let row = value(random);
                table.insert(key, row);
                values_sql(key, row)
            })
            .collect();
        statements.push(format!(
            "INSERT INTO {name} ({columns}) VALUES {}",
            values.join(", ")
        ));
        if !deletes.is_empty() {
            for key in deletes {
                table.remove(key);
            }
            let keys: Vec<String> = deletes.iter().map(i64::to_string).collect();
            statements.push(format!(
                "DELETE FROM {name} WHERE id IN ({})",
                keys.join(", ")
            ));
        }
        statements
    }

    fn round(&mut self, random: &mut fastrand::Rng, clock: &mut i64, serial: &mut i64) -> Round {
        let mut statements = Vec::new();
        statements.extend(Self::table_round(
            random,
            &mut self.customers,
            ("customers", "id, tier"),
            CUSTOMERS,
            |random| random.i64(0..4),
            |key, tier| format!("({key}, {tier})"),
        ));
        statements.extend(Self::table_round(
            random,
            &mut self.orders,
            ("orders", "id, customer, amount"),
            KEYS,
            // Some orders name a customer that never exists: the LEFT join pads them.
            |random| (random.i64(0..CUSTOMERS + 3), random.i64(1..1_000)),
            |key, (customer, amount)| format!("({key}, {customer}, {amount})"),
        ));
        // Points reach keys no customer has, so the FULL join has rows of either side alone.
        statements.extend(Self::table_round(
            random,
            &mut self.points,
            ("points", "id, points"),
            CUSTOMERS + 4,
            |random| random.i64(0..100),
            |key, points| format!("({key}, {points})"),
        ));

        let mut clicks = Vec::new();
        let mut views = Vec::new();
        for _ in 0..EVENTS_PER_ROUND {
            *clock += random.i64(0..120);
            *serial += 1;
            // A fifth of the rows are up to 1.5 s out of order: within the join's grace.
            let rowtime = match random.u32(0..5) {
                0 => *clock - random.i64(0..1_500),
                _ => *clock,
            };
            let row = (random.i64(0..USERS), rowtime, *serial);
            match random.bool() {
                true => {
                    self.clicks.push(row);
                    clicks.push(format!("({}, {}, {})", row.0, row.2, row.1));
                }
                false => {
                    self.views.push(row);
                    views.push(format!("({}, {}, {})", row.0, row.2, row.1));
                }
            }
        }
        if !clicks.is_empty() {
            statements.push(format!(
                "INSERT INTO clicks (uid, page, rowtime) VALUES {}",
                clicks.join(", ")
            ));
        }
        if !views.is_empty() {
            statements.push(format!(
                "INSERT INTO views (uid, item, rowtime) VALUES {}",
                views.join(", ")
            ));
        }
        Round { statements }
    }

    /// `orders o LEFT JOIN customers c ON o.customer = c.id`.
    fn order_tiers(&self) -> Vec<String> {
        sorted(
            self.orders
                .iter()
                .map(|(id, (customer, amount))| {
                    let tier = self
                        .customers
                        .get(customer)
                        .map_or("NULL".to_string(), i64::to_string);
                    format!("{id}|{customer}|{amount}|{tier}")
                })
                .collect(),
        )
    }

    /// `customers c FULL OUTER JOIN points p ON c.id = p.id`, keyed by the join key.
    fn customer_points(&self) -> Vec<String> {
        let mut keys: Vec<i64> = self
            .customers
            .keys()
            .chain(self.points.keys())
            .copied()
            .collect();
        keys.sort_unstable();
        keys.dedup();
        let cell = |value: Option<&i64>| value.map_or("NULL".to_string(), i64::to_string);
        sorted(
            keys.into_iter()
                .map(|id| {
                    format!(
                        "{id}|{}|{}",
                        cell(self.customers.get(&id)),
                        cell(self.points.get(&id))
                    )
                })
                .collect(),
        )
    }

    /// Per bucket of a customer's orders' total amount (thousands), its customers' count and
    /// the sum of their ids.
    fn total_buckets(&self) -> Vec<String> {
        let mut totals: BTreeMap<i64, i64> = BTreeMap::new();
        for (customer, amount) in self.orders.values() {
            *totals.entry(*customer).or_default() += amount;
        }
        let mut buckets: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
        for (customer, total) in totals {
            let bucket = buckets.entry(total / 1000).or_default();
            bucket.0 += 1;
            bucket.1 += customer;
        }
        sorted(
            buckets
                .into_iter()
                .map(|(bucket, (customers, sum))| format!("{bucket}|{customers}|{sum}"))
                .collect(),
        )
    }

    /// Every click and view of one user at most `WITHIN_MS` apart. No row is late: the
    /// stream time never runs a day ahead of a row.
    fn click_views(&self) -> Vec<String> {
        let mut pairs = Vec::new();
        for (uid, click_time, page) in &self.clicks {
            for (view_uid, view_time, item) in &self.views {
                if uid == view_uid && (click_time - view_time).abs() <= WITHIN_MS {
                    pairs.push(format!("{uid}|{page}|{item}"));
                }
            }
        }
        sorted(pairs)
    }

    /// Each click with the latest view of its user at or before it (the last of them to come
    /// on a tie), or NULL: the clicks the views' stream time less grace has passed; the
    /// others still wait. No row is late: rows are at most 1.5 s out of order.
    fn click_last_view(&self) -> Vec<String> {
        let Some(views_time) = self.views.iter().map(|(_, time, _)| *time).max() else {
            return Vec::new();
        };
        let mut joined = Vec::new();
        for (uid, click_time, page) in &self.clicks {
            if *click_time >= views_time - ASOF_GRACE_MS {
                continue;
            }
            let latest = self
                .views
                .iter()
                .filter(|(view_uid, view_time, _)| view_uid == uid && view_time <= click_time)
                .max_by_key(|(_, view_time, _)| *view_time);
            let item = latest.map_or("NULL".to_string(), |(_, _, item)| item.to_string());
            joined.push(format!("{uid}|{page}|{item}"));
        }
        sorted(joined)
    }
}

fn sorted(mut rows: Vec<String>) -> Vec<String> {
    rows.sort();
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joins_killed_while_behind_equal_the_batch_join() {
    let mut random = fastrand::Rng::with_seed(16);
    let mut model = Model::default();
    let (mut clock, mut serial) = (1_000_000i64, 0i64);
    let rounds: Vec<Round> = (0..ROUNDS)
        .map(|_| model.round(&mut random, &mut clock, &mut serial))
        .collect();

    let data = tempfile::tempdir().unwrap();
    let mut server = Server::start(data.path(), &[]);
    let mut client = server.connect().await;
    client.batch_execute(SETUP).await.expect("setup");
    for (index, round) in rounds.iter().enumerate() {
        // Pipelined on one connection: applied in order, acknowledged together.
        let sent = round
            .statements
            .iter()
            .map(|statement| client.batch_execute(statement));
        for acknowledged in futures::future::join_all(sent).await {
            acknowledged.expect("a round's statement");
        }
        if KILL_AFTER_ROUNDS.contains(&(index + 1)) {
            drop(client);
            server.kill();
            server = Server::start(data.path(), &[]);
            client = server.connect().await;
        }
    }
    settle(&client).await;

    let order_tiers = model.order_tiers();
    assert!(
        order_tiers.iter().any(|row| row.ends_with("|NULL")),
        "some orders have no customer"
    );
    assert_eq!(
        rows(
            &client,
            "SELECT id, customer, amount, tier FROM order_tiers"
        )
        .await,
        order_tiers,
        "the foreign-key LEFT join equals the batch join of the final tables"
    );
    let customer_points = model.customer_points();
    assert!(
        customer_points.iter().any(|row| row.contains("|NULL|"))
            && customer_points.iter().any(|row| row.ends_with("|NULL")),
        "the FULL join has rows of either side alone"
    );
    assert_eq!(
        rows(&client, "SELECT id, tier, points FROM customer_points").await,
        customer_points,
        "the primary-key FULL join equals the batch join of the final tables"
    );
    let total_buckets = model.total_buckets();
    assert!(total_buckets.len() > 1, "customers fall in several buckets");
    assert_eq!(
        rows(
            &client,
            "SELECT bucket, customers, customer_sum FROM total_buckets"
        )
        .await,
        total_buckets,
        "the GROUP BY over a GROUP BY equals the same over the final orders"
    );
    let click_views = model.click_views();
    assert!(click_views.len() > 100, "the streams join often");
    assert_eq!(
        rows(&client, "SELECT uid, page, item FROM click_views").await,
        click_views,
        "the stream-stream join's output holds every pair once"
    );
    let click_last_view = model.click_last_view();
    assert!(
        click_last_view.iter().any(|row| row.ends_with("|NULL")) && click_last_view.len() > 100,
        "the ASOF join pads some clicks and joins many"
    );
    assert_eq!(
        rows(&client, "SELECT uid, page, item FROM click_last_view").await,
        click_last_view,
        "the ASOF join's output holds each click once, with the latest view before it"
    );
    server.stop();
}
