"""A real local HTTP server that records requests (robots, gateways, webhook receivers).

with Recorder() as srv:
    srv.respond("/robot", 200, {"errcode": 0})
    ... srv.url("/robot") ... srv.requests[0].json()
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Recorded:
    method: str
    path: str
    query: dict
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body or b"null")


class Recorder:
    def __init__(self):
        self.requests: list[Recorded] = []
        self.routes: dict[str, list] = {}
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                recorder.requests.append(
                    Recorded(
                        self.command,
                        parts.path,
                        {k: v[0] for k, v in parse_qs(parts.query).items()},
                        dict(self.headers.items()),
                        body,
                    )
                )
                answers = recorder.routes.get(parts.path) or [(200, {"errcode": 0})]
                status, payload = answers.pop(0) if len(answers) > 1 else answers[0]
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _handle  # noqa: N815

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def respond(self, path: str, status: int, payload, *more) -> None:
        """Answer `path` with (status, payload), then the (status, payload) pairs in `more`."""
        self.routes[path] = [(status, payload), *more]

    def url(self, path: str = "/") -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}{path}"

    def at(self, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.path == path]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
