"""psycopg2 against a running eddy server (cli/tests/e2e/clients.rs starts it and passes
its port): connect, parameters (psycopg2 interpolates them on the client), a table and a
stream, a catalog query, a transaction, and a push query with a LIMIT read while another
connection writes. Prints "psycopg2 ok" when every check holds."""

import sys
import threading

import psycopg2

dsn = f"host=127.0.0.1 port={sys.argv[1]} user=eddy dbname=eddy"
conn = psycopg2.connect(dsn)
conn.autocommit = True
cur = conn.cursor()
cur.execute("CREATE TABLE accounts (id BIGINT PRIMARY KEY, owner STRING, balance DECIMAL(10, 2))")
cur.execute("CREATE STREAM payments (account BIGINT KEY, amount DOUBLE, note STRING)")
cur.execute(
    "INSERT INTO accounts (id, owner, balance) VALUES (%s, %s, %s), (%s, %s, %s)",
    (1, "ada", "10.50", 2, "o'brien", "3.25"),
)
cur.execute("SELECT id, owner, balance FROM accounts WHERE id >= %s ORDER BY id", (1,))
rows = cur.fetchall()
assert [(row[0], row[1], str(row[2])) for row in rows] == [(1, "ada", "10.50"), (2, "o'brien", "3.25")], rows
assert [column.name for column in cur.description] == ["id", "owner", "balance"], cur.description

# psycopg2 opens a transaction (BEGIN) before the first statement when not in autocommit.
conn.autocommit = False
cur.execute("SELECT COUNT(*) FROM accounts")
assert cur.fetchone() == (2,)
conn.commit()
conn.autocommit = True

# The hstore probe psycopg2's extras (and SQLAlchemy) send: no hstore, no rows.
cur.execute(
    "SELECT t.oid, typarray FROM pg_type t JOIN pg_namespace ns ON typnamespace = ns.oid "
    "WHERE typname = 'hstore'"
)
assert cur.fetchall() == []
cur.execute(
    "SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
    "ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind = 'r' ORDER BY 1",
    ("public",),
)
assert ("accounts",) in cur.fetchall()

stop = threading.Event()


def keep_writing():
    # The push query starts at the end of the stream: write until it has seen a row.
    writer = psycopg2.connect(dsn)
    writer.autocommit = True
    write = writer.cursor()
    n = 100
    while not stop.is_set() and n < 2000:
        write.execute("INSERT INTO payments (account, amount, note) VALUES (%s, 1.5, 'late')", (n,))
        n += 1
        stop.wait(0.02)
    writer.close()


thread = threading.Thread(target=keep_writing)
thread.start()
cur.execute("SELECT account, note FROM payments WHERE account >= %s EMIT CHANGES LIMIT 2", (100,))
seen = cur.fetchall()
stop.set()
thread.join()
assert len(seen) == 2 and all(row[0] >= 100 and row[1] == "late" for row in seen), seen
conn.close()
print("psycopg2 ok")
