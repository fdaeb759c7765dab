"""Markdown to safe HTML: python-markdown renders, nh3 (Rust `ammonia`) sanitises.

Bodies are stored as the Markdown the author typed and sanitised on every render, so a change of
the allow-list applies to old content too and nothing unsanitised is ever stored or shown.
python-markdown passes raw HTML in the source through,
so the sanitiser runs on its *output* with a strict allow-list:
no <script>/<style>/<iframe>, no event handler attributes, links only to http(s), mailto and
relative URLs, every link gets rel="noopener noreferrer nofollow".
"""

from __future__ import annotations

import markdown
import nh3
from django.utils.safestring import SafeString

ALLOWED_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "b", "i", "u", "s",
    "del", "blockquote", "code", "pre", "ul", "ol", "li", "a", "img", "table", "thead", "tbody",
    "tr", "th", "td", "span", "div", "sup", "sub", "dl", "dt", "dd",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "th": {"align"},
    "td": {"align"},
    "code": {"class"},
}
URL_SCHEMES = {"http", "https", "mailto"}
EXTENSIONS = ["extra", "sane_lists", "nl2br"]


def sanitize_html(html: str) -> str:
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


def render_markdown(text: str) -> SafeString:
    """The HTML of a Markdown body, sanitised: safe to put on a page as is."""
    if not text:
        return SafeString("")
    html = markdown.markdown(text, extensions=EXTENSIONS, output_format="html")
    # Safe by construction: the string is the sanitiser's output, not the user's input.
    return SafeString(sanitize_html(html))


def excerpt(text: str, length: int = 120) -> str:
    """Plain text for lists and notifications (tags stripped by the sanitiser, not a regex)."""
    plain = nh3.clean(markdown.markdown(text or ""), tags=set())
    plain = " ".join(plain.split())
    return plain if len(plain) <= length else plain[: length - 1] + "…"
