"""The state of the services the app depends on, for /healthz."""

from celery import current_app
from django.db import connection
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


def health_report() -> dict:
    checks = {"database": database_state(), "broker": broker_state()}
    status = "ok" if all(check["ok"] for check in checks.values()) else "error"
    return {"status": status, **checks}
