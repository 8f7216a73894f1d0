"""One database connection per thread, for both backends (:mod:`.db` and :mod:`.db_postgres`).

A connection must not be shared across threads mid-transaction, so each
thread opens its own on first use. Every open connection is kept with the
thread it belongs to, so ``close()`` reaches them all and a finished thread's
connection is closed when the next one opens, not leaked.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar


class _Closable(Protocol):
    def close(self) -> None: ...


C = TypeVar("C", bound=_Closable)


class ThreadConnections(Generic[C]):
    def __init__(
        self,
        connect: Callable[[], C],
        *,
        errors: tuple[type[BaseException], ...],
        closed: Callable[[], BaseException],
        usable: Callable[[C], bool] = lambda conn: True,
    ):
        self._connect = connect
        self._errors = errors  # what closing a broken connection may raise, and is ignored
        self._closed_error = closed
        self._usable = usable
        self._local = threading.local()
        self._all: dict[int, tuple[threading.Thread, C]] = {}
        self._guard = threading.Lock()
        self._closed = False

    def get(self) -> C:
        """This thread's connection, opened on first use (and again if it is no longer usable)."""
        conn = getattr(self._local, "conn", None)
        if conn is None or not self._usable(conn):
            if self._closed:
                raise self._closed_error()
            conn = self._connect()
            self._local.conn = conn
            with self._guard:
                self._close_finished_threads()
                self._all[threading.get_ident()] = (threading.current_thread(), conn)
        return conn

    def _close_finished_threads(self) -> None:
        for ident, (thread, conn) in list(self._all.items()):
            if not thread.is_alive():
                del self._all[ident]
                with contextlib.suppress(*self._errors):
                    conn.close()

    def __len__(self) -> int:
        with self._guard:
            return len(self._all)

    def close(self) -> None:
        with self._guard:
            self._closed = True
            conns, self._all = [c for _, c in self._all.values()], {}
        for conn in conns:
            with contextlib.suppress(*self._errors):
                conn.close()
        self._local = threading.local()
