"""SMS through a pluggable backend: `backend().send(to, text)`.

- ConsoleBackend (default, and when no gateway is set up): logs the message, sends nothing.
- HttpGatewayBackend: one HTTP call built from the admin's URL template (and JSON body
  template for POST); placeholders {to}, {text}, {sign} are URL-encoded in the URL and
  JSON-escaped in the body, so a message can never change the request's shape.
Other providers: subclass SmsBackend and return it from `backend()`'s gateway row.
"""

from __future__ import annotations

import json
import logging
import urllib.parse

from . import httpclient as http
from .models import SmsGateway

log = logging.getLogger("weft.notify.sms")


class SmsError(Exception):
    pass


class SmsBackend:
    name = "base"

    def send(self, to: str, text: str) -> tuple[int | None, str]:  # pragma: no cover
        raise NotImplementedError


class ConsoleBackend(SmsBackend):
    name = "console"

    def send(self, to: str, text: str) -> tuple[int | None, str]:
        log.info("SMS to %s: %s", to, text)
        return None, "logged"


class HttpGatewayBackend(SmsBackend):
    name = "http"

    def __init__(self, gateway: SmsGateway):
        self.gateway = gateway

    def _fill(self, template: str, values: dict, escape) -> str:
        out = template
        for key, value in values.items():
            out = out.replace("{" + key + "}", escape(value))
        return out

    def send(self, to: str, text: str) -> tuple[int | None, str]:
        g = self.gateway
        values = {"to": to, "text": f"{g.sign}{text}" if g.sign else text, "sign": g.sign}
        url = self._fill(g.url_template, values, lambda v: urllib.parse.quote(v, safe=""))
        headers = {str(k): str(v) for k, v in (g.headers or {}).items()}
        if g.method == SmsGateway.Method.POST:
            body = self._fill(g.body_template or "", values, lambda v: json.dumps(v)[1:-1])
            headers.setdefault("Content-Type", "application/json")
            resp = http.request("POST", url, body=body.encode(), headers=headers)
        else:
            resp = http.request("GET", url, headers=headers)
        codes = {int(c) for c in g.success_codes.split(",") if c.strip().isdigit()}
        if resp.status not in codes:
            raise SmsError(f"gateway answered {resp.status}: {resp.body[:300]}")
        return resp.status, resp.body


def backend() -> SmsBackend:
    gateway = SmsGateway.objects.filter(active=True).order_by("pk").first()
    if gateway is None or gateway.backend == SmsGateway.Backend.CONSOLE:
        return ConsoleBackend()
    return HttpGatewayBackend(gateway)
