"""A scripted OpenAI-compatible HTTP server on loopback, for the client's tests.

Real sockets and the standard library's server, no mocks: each POST takes the next
action of ``script`` (``"ok"``, ``(status, headers)``, ``"drop"`` for a connection closed
without an answer, ``"not json"``), and every request is recorded.
"""

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Server:
    """What the handler does and what it saw."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.script: list = []
        self.posts: list[tuple[float, int, str, dict]] = []  # (time, connection, path, body)
        self.connections = 0
        self.url = ""


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real servers do
    state: Server

    def setup(self):
        super().setup()
        with self.state.lock:
            self.state.connections += 1
            self.connection_id = self.state.connections

    def do_GET(self):
        self._send(200, {"data": [{"id": "loopback-model"}]})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with self.state.lock:
            self.state.posts.append((time.monotonic(), self.connection_id, self.path, body))
            action = self.state.script.pop(0) if self.state.script else "ok"
        if action == "drop":
            self.close_connection = True  # no answer at all: the connection just closes
            return
        if action == "not json":
            self._send(200, None, raw=b"<html>proxy error</html>")
            return
        if isinstance(action, tuple):
            status, headers = action
            self._send(status, {"error": f"status {status}"}, headers=headers)
            return
        text = f" seed {body['seed']}"
        choice = ({"text": text} if "prompt" in body else
                  {"message": {"role": "assistant", "content": text}})
        self._send(200, {"choices": [{**choice, "finish_reason": "length"}],
                         "usage": {"prompt_tokens": 5, "completion_tokens": 2}})

    def _send(self, status, payload, *, headers=None, raw=None):
        data = raw if raw is not None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@contextmanager
def serve() -> Iterator[Server]:
    """Run a server on a free loopback port; its URL is ``.url``."""
    state = Server()
    handler = type("BoundHandler", (Handler,), {"state": state})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
