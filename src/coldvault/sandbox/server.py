"""The sandbox server: moto's WSGI app plus coldvault's additions and admin API, in a thread.

``SandboxServer`` binds ``host:port`` (port 0: a free one), serves moto's
``DomainDispatcherApplication`` wrapped in :class:`AdminMiddleware`, which answers
``/_coldvault/…`` itself (see :mod:`coldvault.sandbox.admin`) and passes everything else to moto.
Every response carries the sandbox's virtual time in its ``Date`` header.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Callable, Iterable
from email.utils import formatdate
from types import TracebackType
from typing import Any

from coldvault.sandbox.install import install

ADMIN_PREFIX = "/_coldvault/"


class AdminMiddleware:
    """Serves the admin API under :data:`ADMIN_PREFIX`; every other request goes to ``app``."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if not path.startswith(ADMIN_PREFIX):
            return self.app(environ, start_response)
        from coldvault.sandbox.admin import handle

        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        status, payload = handle(environ.get("REQUEST_METHOD", "GET"), path[len(ADMIN_PREFIX) :], raw)
        body = json.dumps(payload, default=str).encode() + b"\n"  # curl users get their prompt back
        reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}.get(
            status, "Error"
        )
        start_response(
            f"{status} {reason}",
            [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
        )
        return [body]


def virtual_date(timestamp: float | None = None) -> str:
    """``timestamp`` (default: the sandbox's virtual now) as an HTTP ``Date`` (RFC 9110 IMF-fixdate)."""
    from coldvault.sandbox.state import STATE

    moment = STATE.clock.now().timestamp() if timestamp is None else timestamp
    return formatdate(moment, usegmt=True)


def _quiet_handler() -> Any:
    """moto's request handler without the per-request access log line, stamping every response's
    ``Date`` with the virtual clock, as AWS stamps its own time on every response."""
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    class QuietRequestHandler(MotoRequestHandler):  # type: ignore[misc]
        def log_request(self, *args: Any, **kwargs: Any) -> None:
            return

        def date_time_string(self, timestamp: float | None = None) -> str:
            """The ``Date`` header of every response: the sandbox's virtual time (see docs/sandbox.md)."""
            return virtual_date(timestamp)

    return QuietRequestHandler


class SandboxServer:
    """An in-thread sandbox on ``host:port``; use as a context manager or start()/stop()."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self._requested_port = port
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._previous_moto_port: str | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the sandbox server is not started")
        return int(self._server.server_address[1])

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> SandboxServer:
        if self._server is not None:
            return self
        install()
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
        from werkzeug.serving import make_server

        app = AdminMiddleware(DomainDispatcherApplication(create_backend_app))
        # Bind here, so a busy port is an OSError (werkzeug would print and exit the process).
        listener = socket.create_server((self.host, self._requested_port))
        try:
            self._server = make_server(
                self.host,
                self._requested_port,
                app,
                threaded=True,
                request_handler=_quiet_handler(),
                fd=listener.fileno(),
            )
        finally:
            listener.close()  # the server holds its own duplicate of the socket
        # moto's Step Functions engine calls its own services back at localhost:<MOTO_PORT>.
        self._previous_moto_port = os.environ.get("MOTO_PORT")
        os.environ["MOTO_PORT"] = str(self.port)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"coldvault-sandbox-{self.port}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        if os.environ.get("MOTO_PORT") == str(self.port):
            if self._previous_moto_port is None:
                os.environ.pop("MOTO_PORT", None)
            else:
                os.environ["MOTO_PORT"] = self._previous_moto_port
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
