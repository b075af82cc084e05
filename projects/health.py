"""Health: /healthz says the process serves (liveness: restart me if not); /readyz says
whether it can do its work — database reachable, migrations applied, broker reachable
(readiness: send me traffic or not). A database outage makes the app unready, never dead."""

import os

from celery import current_app
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.migrations.executor import MigrationExecutor
from django.db.utils import Error as DatabaseError


def database_state() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as error:
        return {"ok": False, "error": str(error).strip() or error.__class__.__name__}
    return {"ok": True, "vendor": connection.vendor, "server_version": connection.pg_version}


def broker_state() -> dict:
    broker = current_app.connection_for_write()
    transport = broker.transport_cls if isinstance(broker.transport_cls, str) else "custom"
    try:
        broker.ensure_connection(max_retries=1, timeout=2)
    except Exception as error:  # kombu raises transport-specific errors; report any of them
        return {"ok": False, "transport": transport, "error": str(error) or type(error).__name__}
    finally:
        broker.release()
    return {"ok": True, "transport": transport}


def migrations_state() -> dict:
    """Whether every migration is applied: a web replica started before `migrate` finished
    must not serve a schema it does not know."""
    try:
        executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError as error:
        return {"ok": False, "error": str(error).strip() or error.__class__.__name__}
    pending = [f"{migration.app_label}.{migration.name}" for migration, _ in plan]
    return {"ok": not pending, "pending": pending}


def liveness_report() -> dict:
    return {"status": "ok", "pid": os.getpid()}


def readiness_report() -> dict:
    checks = {"database": database_state()}
    checks["migrations"] = (
        migrations_state() if checks["database"]["ok"] else {"ok": False, "error": "no database"}
    )
    checks["broker"] = broker_state()
    status = "ok" if all(check["ok"] for check in checks.values()) else "error"
    return {"status": status, **checks}
