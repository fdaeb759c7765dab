from django.apps import AppConfig
from django.urls import reverse
from django.utils.translation import gettext_lazy as _


class DocsConfig(AppConfig):
    name = "apps.docs"
    label = "docs"
    verbose_name = _("Documents")

    def ready(self) -> None:
        from apps.org.navigation import MenuItem, register, register_home_panel

        from . import selectors

        register(
            MenuItem(
                group="oa",
                key="announcements",
                label=_("Announcements"),
                url_name="docs:announcements",
                icon="megaphone",
                order=30,
                badge=selectors.unread_required_count,
            )
        )
        register(
            MenuItem(
                group="oa",
                key="library",
                label=_("Knowledge library"),
                url_name="docs:library",
                icon="journal-bookmark",
                order=31,
            )
        )
        register_home_panel("docs-unread", home_panel)

        from . import todos

        todos.register()  # the to-do inbox (apps.tasks) lists unread required announcements

        from apps.customers import ticket_articles

        ticket_articles.register(ArticleProvider())  # tickets link knowledge-base articles


class ArticleProvider:
    """What tickets (apps.customers) see of the library: documents the user may see."""

    def visible(self, user, pk: int):
        from apps.customers.ticket_articles import Article

        from .selectors import article_for

        doc = article_for(user=user, pk=pk)
        if doc is None:
            return None
        folder = doc.folder.name if doc.folder else ""
        return Article(doc.pk, doc.title, doc.get_absolute_url(), folder)

    def search(self, user, term: str, limit: int = 10):
        from apps.customers.ticket_articles import Article

        from .selectors import article_choices

        return [
            Article(r["id"], r["title"], r["url"], r["folder"])
            for r in article_choices(user=user, term=term, limit=limit)
        ]


def home_panel(request):
    """Home card: required announcements the user has not read yet (one query)."""
    from .selectors import unread_required_for

    rows = list(unread_required_for(request.user)[:6])
    if not rows:
        return None
    return {
        "title": _("Announcements to read"),
        "template": "docs/_home_panel.html",
        "context": {"rows": rows[:5], "more": len(rows) > 5},
        "order": 20,
        "icon": "megaphone",
        "url": reverse("docs:announcements") + "?unread=1",
    }
