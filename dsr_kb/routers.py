"""Read-only traffic on a read replica (DATABASE_REPLICA_URL), everything else on the primary.

Only what cannot notice replication lag goes to the replica: the reads of an anonymous GET or
HEAD request, outside any transaction. A signed-in editor reads the primary, so an edit shows
at once on the next page; writes, migrations, Celery tasks and management commands always use
the primary.
"""

from __future__ import annotations

from contextvars import ContextVar

from django.db import connections

REPLICA = "replica"
_reads_on_replica: ContextVar[bool] = ContextVar("reads_on_replica", default=False)


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        if _reads_on_replica.get() and not connections["default"].in_atomic_block:
            return REPLICA
        return None

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the replica is a copy of the primary

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == "default"


class ReplicaReadsMiddleware:
    """Marks the requests whose reads may go to the replica (see the module's docstring)."""

    SAFE_METHODS = {"GET", "HEAD"}

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        safe = request.method in self.SAFE_METHODS and not (user and user.is_authenticated)
        token = _reads_on_replica.set(safe)
        try:
            return self.get_response(request)
        finally:
            _reads_on_replica.reset(token)
