"""Knowledge-base articles a ticket links to (DESIGN §2: service articles live in the library).

The library is a later app (apps.docs); it registers a provider here when it starts, so the
customers app never imports it. Without a provider, linking an article is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Article:
    pk: int
    title: str
    url: str
    folder: str = ""


class ArticleProvider(Protocol):
    def visible(self, user, pk: int) -> Article | None: ...

    def search(self, user, term: str, limit: int = 10) -> list[Article]: ...


_provider: ArticleProvider | None = None


def register(provider: ArticleProvider) -> None:
    global _provider  # noqa: PLW0603 - one provider, set once at start-up
    _provider = provider


def is_available() -> bool:
    return _provider is not None


def visible_article(user, pk: int | None) -> Article | None:
    """The article `pk` if `user` may see it (None: no link, no library, or hidden)."""
    if not pk or _provider is None:
        return None
    return _provider.visible(user, pk)


def search(user, term: str, limit: int = 10) -> list[Article]:
    if _provider is None:
        return []
    return _provider.search(user, term, limit)
