"""The HTTP layer: a threading stdlib server whose handler only parses requests and sends
:class:`~wizard.sandbox.routes.Response` values; all decisions live in :mod:`.routes`."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from . import problems
from .routes import Request, Response, Router, first_values, problem_response

# A child of the program's logger: its records (request paths may carry a code) pass the
# redacting filter on that logger's handlers instead of going raw to the root logger.
log = logging.getLogger("amocrm_wizard.sandbox")

_MAX_BODY = 1 << 20  # nothing the sandbox accepts is anywhere near 1 MiB


class _BadRequestBody(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class SandboxHTTPServer(ThreadingHTTPServer):
    """Binds on construction, so the port (and with it the redirect URI) is known at once."""

    daemon_threads = True  # a stuck keep-alive connection never blocks interpreter exit
    request_queue_size = 512  # tests open 100 connections at once; the default 5 drops some
    allow_reuse_address = True
    router: Router  # set by Sandbox right after binding, before serving starts

    def __init__(self, host: str, port: int) -> None:
        if ":" in host:  # an IPv6 literal such as ::1
            self.address_family = socket.AF_INET6
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__((host, port), SandboxRequestHandler)

    # Open connections are tracked so stop() can cut keep-alive clients off: otherwise a
    # requests.Session would go on talking to a "stopped" sandbox through its pooled socket.
    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # already gone
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hanging up mid-request are normal (timeouts, stop()); anything else is a bug.
        log.debug("connection from %s ended with an error", client_address, exc_info=True)


class SandboxRequestHandler(BaseHTTPRequestHandler):
    # HTTP/1.1 with a Content-Length on every answer lets requests.Session keep connections
    # alive; benchmarks measure per-request overhead and must not pay a TCP handshake each time.
    protocol_version = "HTTP/1.1"
    server_version = "nginx"
    sys_version = ""
    # Headers and body go out in two writes; without TCP_NODELAY, Nagle plus delayed ACK can
    # add ~40 ms to every keep-alive request.
    disable_nagle_algorithm = True
    timeout = 120  # idle keep-alive connections are dropped eventually
    server: SandboxHTTPServer

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        try:
            body = self._read_body()
        except _BadRequestBody as exc:
            # The rest of the stream cannot be trusted, so the connection goes after this answer.
            self.close_connection = True
            self._send(problem_response(problems.bad_request("Unreadable request body")), exc.status)
            return
        try:
            response = self.server.router.handle(self._request(body))
        except Exception:  # never let one bad request take the handler thread down silently
            log.exception("sandbox handler failed on %s %s", self.command, self.path)
            response = problem_response(problems.internal_error())
        self._send(response)

    def _request(self, body: bytes) -> Request:
        parts = urlsplit(self.path)
        host = self.headers.get("Host") or "{}:{}".format(*self.server.server_address[:2])
        return Request(
            method=self.command,
            path=parts.path or "/",
            query=first_values(parts.query),
            headers=self.headers,  # type: ignore[arg-type]  # email.message.Message: a str mapping
            body=body,
            url=f"http://{host}{self.path}",
        )

    def _read_body(self) -> bytes:
        """The whole body, always: leftover bytes would be parsed as the next keep-alive request."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        raw_length = self.headers.get("Content-Length")
        if raw_length is None:
            return b""
        try:
            length = int(raw_length)
        except ValueError:
            raise _BadRequestBody(400) from None
        if length < 0:
            raise _BadRequestBody(400)
        if length > _MAX_BODY:
            raise _BadRequestBody(413)
        return self.rfile.read(length)

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024).split(b";")[0].strip()
            try:
                size = int(line, 16)
            except ValueError:
                raise _BadRequestBody(400) from None
            if size == 0:
                while self.rfile.readline(1024).strip():  # trailers, up to the blank line
                    pass
                return b"".join(chunks)
            total += size
            if total > _MAX_BODY:
                raise _BadRequestBody(413)
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)  # the CRLF after each chunk

    def _send(self, response: Response, status: int | None = None) -> None:
        try:
            self.send_response(status or response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            for name, value in response.headers:
                self.send_header(name, value)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client hung up; nobody is left to answer

    def log_message(self, format: str, *args: Any) -> None:  # stdlib's parameter name
        # Silent by default: tests and benchmarks send thousands of requests.
        if os.environ.get("AMOCRM_SANDBOX_LOG") == "1":
            super().log_message(format, *args)
