"""The embedded PostgreSQL server that runs when no DATABASE_URL is configured."""

import os
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest

from dsr_kb import embedded_db

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def data_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("embedded") / "postgres"
    yield path
    embedded_db.stop(path)


def query(server: embedded_db.EmbeddedServer, database: str, sql: str):
    connection = psycopg2.connect(
        dbname=database, user="postgres", host=server.socket_dir, port=server.port
    )
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall() if cursor.description else None
    finally:
        connection.close()


def test_it_initialises_starts_reuses_stops_and_restarts_a_server(data_dir):
    server = embedded_db.start(data_dir)
    assert (data_dir / "PG_VERSION").exists()
    embedded_db.ensure_database(server, "probe")
    embedded_db.ensure_database(server, "probe")  # a second call finds it
    query(server, "probe", "CREATE TABLE kept (value text); INSERT INTO kept VALUES ('yes')")
    assert embedded_db.start(data_dir) == server  # reused, not started twice

    assert embedded_db.stop(data_dir) is True
    assert embedded_db.stop(data_dir) is False
    with pytest.raises(psycopg2.OperationalError):
        query(server, "probe", "SELECT 1")

    server = embedded_db.start(data_dir)
    assert query(server, "probe", "SELECT value FROM kept") == [("yes",)]


def test_it_ships_the_extensions_the_app_uses(data_dir):
    server = embedded_db.start(data_dir)
    rows = query(
        server,
        "postgres",
        "SELECT name FROM pg_available_extensions WHERE name IN ('pg_trgm', 'unaccent')",
    )
    assert sorted(name for (name,) in rows) == ["pg_trgm", "unaccent"]


def test_settings_fall_back_to_the_embedded_server_without_database_url(data_dir):
    unset = {"DATABASE_URL", "DSR_EMBEDDED_DATABASE_NAME"}
    env = {k: v for k, v in os.environ.items() if k not in unset}
    env.update(DSR_DATA_DIR=str(data_dir.parent), DJANGO_SETTINGS_MODULE="dsr_kb.settings.base")
    script = (
        "import django; django.setup();"
        "from django.db import connection;"
        "cursor = connection.cursor(); cursor.execute('SELECT current_database()');"
        "print(cursor.fetchone()[0], connection.settings_dict['HOST'])"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    database, host = result.stdout.split()
    assert database == "dsr_kb"
    assert Path(host).resolve() == data_dir.resolve()


def test_a_handle_list_cut_short_by_a_killed_process_does_not_stop_a_restart(data_dir):
    embedded_db.start(data_dir)
    embedded_db.stop(data_dir)
    (data_dir / embedded_db.HANDLE_LIST).write_text("")
    script = (
        "import sys; from pathlib import Path; from dsr_kb import embedded_db;"
        "print(embedded_db.start(Path(sys.argv[1])).port)"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(data_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert (data_dir / embedded_db.HANDLE_LIST).read_text().startswith("[")
