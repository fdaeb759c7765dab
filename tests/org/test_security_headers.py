"""Security headers on every page: CSP with a per-request nonce, no framing, referrer policy
(issue 9). The browser tests run under the same policy, so a page that needs an inline script
without the nonce fails there."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.django_db


def _csp(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return {
        part.strip().split(" ", 1)[0]: part.strip().partition(" ")[2]
        for part in header.split(";")
        if part.strip()
    }


def test_pages_carry_a_strict_script_policy(client, user):
    client.force_login(user)
    response = client.get("/")
    policy = _csp(response)
    # 'self', plus this request's nonce when the page used it; never 'unsafe-inline'.
    assert re.fullmatch(r"'self'( 'nonce-[A-Za-z0-9+/=_-]+')?", policy["script-src"])
    assert policy["object-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    assert "unsafe-eval" not in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_no_template_has_an_inline_script_without_the_nonce():
    """Inline <script> blocks (not src=, not JSON data) must carry the request's nonce."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    offenders = []
    for path in [*root.glob("templates/**/*.html"), *root.glob("apps/*/templates/**/*.html")]:
        for match in re.finditer(r"<script\b([^>]*)>", path.read_text(encoding="utf-8")):
            attrs = match.group(1)
            if re.search(r"\bsrc\b", attrs) or "application/json" in attrs or "csp_nonce" in attrs:
                continue
            offenders.append(f"{path.relative_to(root)}: {match.group(0)}")
    assert offenders == []


def test_api_docs_page_works_under_the_policy(client, user):
    client.force_login(user)
    page = client.get("/api/v1/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert not re.search(r"<script>\s*\S", html)  # its start-up script is a file
    script = re.search(r'<script src="([^"]+\?script=)"', html) or re.search(
        r'<script src="([^"]*script[^"]*)"', html
    )
    assert script, html
