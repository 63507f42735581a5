import time

from sqlalchemy import create_engine, text

try:  # tests/ has no __init__.py, so pytest puts tests/ itself on sys.path
    from support.pg_server import create_database, drop_database, throwaway_postgres
except ImportError:  # pragma: no cover - if tests/ ever becomes a package
    from tests.support.pg_server import create_database, drop_database, throwaway_postgres


def test_throwaway_postgres_lifecycle():
    t0 = time.monotonic()
    with throwaway_postgres() as url:
        startup = time.monotonic() - t0
        assert url.startswith("postgresql+psycopg://postgres@127.0.0.1:")
        assert url.endswith("/complaints_test")

        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                version = conn.execute(text("select version()")).scalar_one()
                assert "PostgreSQL" in version
                assert conn.execute(text("select current_database()")).scalar_one() == "complaints_test"
        finally:
            engine.dispose()

        other = create_database(url, "module_db")
        assert other.endswith("/module_db")
        engine2 = create_engine(other)
        try:
            with engine2.connect() as conn:
                assert conn.execute(text("select current_database()")).scalar_one() == "module_db"
            with engine.connect() as admin:
                names = admin.execute(text("select datname from pg_database")).scalars().all()
                assert "module_db" in names
            # engine2's pool still holds an idle connection: drop_database must cope with it
            drop_database(url, "module_db")
        finally:
            engine2.dispose()
            engine.dispose()

        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                names = conn.execute(text("select datname from pg_database")).scalars().all()
                assert "module_db" not in names
        finally:
            engine.dispose()
        drop_database(url, "module_db")  # idempotent

    assert startup < 5, f"startup took {startup:.2f}s"
