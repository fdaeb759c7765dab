"""A small HTTP client on the standard library (outbound calls to robots, SMS gateways,
webhooks). Only http(s) URLs; every call has a timeout; the response body is truncated."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass

TIMEOUT = 10
MAX_BODY = 4000


@dataclass
class Response:
    status: int
    body: str

    def json(self):
        try:
            return json.loads(self.body or "null")
        except ValueError:
            return None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class HttpError(Exception):
    def __init__(self, message: str, response: Response | None = None):
        super().__init__(message)
        self.response = response


def request(
    method: str, url: str, *, body: bytes | None = None, headers: dict | None = None
) -> Response:
    if not url.lower().startswith(("http://", "https://")):
        raise HttpError(f"not an http(s) URL: {url[:80]}")
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})  # noqa: S310 - scheme checked above
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:  # noqa: S310 - scheme checked above
            return Response(resp.status, resp.read(MAX_BODY).decode("utf-8", "replace"))
    except urllib.error.HTTPError as exc:
        return Response(exc.code, exc.read(MAX_BODY).decode("utf-8", "replace"))
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise HttpError(str(getattr(exc, "reason", exc))) from exc


def post_json(url: str, payload, *, headers: dict | None = None) -> Response:
    body = json.dumps(payload, ensure_ascii=False).encode()
    return request(
        "POST", url, body=body, headers={"Content-Type": "application/json", **(headers or {})}
    )


def get(url: str) -> Response:
    return request("GET", url)
