"""SQLAlchemy 2 against a running eddy server (cli/tests/e2e/clients.rs starts it, creates
the relations below and passes its port), through both its psycopg2 and psycopg (3)
dialects: connect (the dialect's first queries), the inspector (tables, views, columns,
primary key, indexes), Core and a declarative ORM class over an Eddy table, read and written.
Prints "sqlalchemy ok" when every check holds.

Relations: TABLE users (id BIGINT PRIMARY KEY, name STRING, score DOUBLE), STREAM clicks
(user_id BIGINT KEY, url STRING), TABLE clicks_per_user AS SELECT .. GROUP BY user_id."""

import sys

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    name: Mapped[str]
    score: Mapped[float]


port = sys.argv[1]
for driver, first_id in (("psycopg2", 10), ("psycopg", 20)):
    # psycopg 3 prepares statements on the server and sends DEALLOCATE when its cache of
    # them turns over, as reflection's many queries make it.
    engine = sa.create_engine(f"postgresql+{driver}://eddy@127.0.0.1:{port}/eddy")
    with engine.connect() as conn:
        assert conn.dialect.server_version_info[0] == 15, conn.dialect.server_version_info
        assert conn.execute(sa.text("SELECT 1 + :n"), {"n": 1}).scalar_one() == 2

    inspector = sa.inspect(engine)
    tables = inspector.get_table_names()
    assert {"users", "clicks"} <= set(tables), tables
    assert inspector.get_view_names() == [], inspector.get_view_names()
    assert inspector.get_materialized_view_names() == ["clicks_per_user"], (
        inspector.get_materialized_view_names()
    )
    columns = {column["name"]: column for column in inspector.get_columns("users")}
    assert list(columns) == ["id", "name", "score"], columns
    assert isinstance(columns["id"]["type"], sa.BigInteger), columns["id"]
    assert isinstance(columns["name"]["type"], sa.Text), columns["name"]
    assert isinstance(columns["score"]["type"], sa.Double), columns["score"]
    assert columns["id"]["nullable"] is False and columns["name"]["nullable"] is True
    primary_key = inspector.get_pk_constraint("users")
    assert primary_key["constrained_columns"] == ["id"], primary_key
    assert primary_key["name"] == "users_pkey", primary_key
    assert inspector.get_pk_constraint("clicks")["constrained_columns"] == []
    # The primary key's index is the constraint's, which get_indexes leaves out.
    assert inspector.get_indexes("users") == [], inspector.get_indexes("users")

    # Core: a reflected table.
    users = sa.Table("users", sa.MetaData(), autoload_with=engine)
    assert [column.name for column in users.primary_key] == ["id"]

    with Session(engine) as session:
        session.add_all(
            [User(id=first_id, name="ada", score=1.5), User(id=first_id + 1, name="bo", score=2.0)]
        )
        session.commit()
        found = session.execute(
            sa.select(User).where(User.id >= first_id).order_by(User.id)
        ).scalars().all()
        assert [(user.id, user.name, user.score) for user in found] == [
            (first_id, "ada", 1.5),
            (first_id + 1, "bo", 2.0),
        ], found
        total = session.execute(
            sa.select(sa.func.count()).select_from(User).where(User.name == "ada")
        ).scalar_one()
        assert total >= 1, total
    engine.dispose()
print("sqlalchemy ok")
