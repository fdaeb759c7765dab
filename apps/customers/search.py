"""Search over customers and contacts: the `?search=` of the API lists and the top bar's global
search, by name, phone, email, pinyin and pinyin initials (typing "zhang" or "zs" finds 张三).

Every branch is an indexed look-up:
* names: `LIKE '%text%'` on the normalised name (pg_trgm GIN index on PostgreSQL) from three
  characters on; shorter text matches the start of the name (b-tree prefix index);
* pinyin: the same on the pinyin column; initials: prefix;
* phone: prefix of the digits; email: prefix of the lower-cased address.
Fields hidden from the caller by field security are never searched (that would leak them).

Other apps add result kinds (leads, deals…) with `register_search_provider` from their
`AppConfig.ready()`; `global_search(user, q)` asks every provider.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from apps.org.fields import FULL_ACCESS, FieldAccess, field_access

from .normalize import digits, normalize_name, normalize_query

MIN_CONTAINS = 3  # trigram indexes need three characters; shorter text matches prefixes
MAX_QUERY = 100


def _pinyin_q(key: str, prefix: str = "") -> Q:
    q = Q(**{f"{prefix}name_initials__startswith": key})
    if len(key) >= MIN_CONTAINS:
        q |= Q(**{f"{prefix}name_pinyin__contains": key})
    else:
        q |= Q(**{f"{prefix}name_pinyin__startswith": key})
    return q


def _is_pinyin_like(key: str) -> bool:
    return key.isascii() and key.isalpha()


def customer_search_q(text: str, access: FieldAccess = FULL_ACCESS) -> Q:
    """The filter for customers matching `text` (nothing matches empty text)."""
    text = (text or "").strip()[:MAX_QUERY]
    q = Q(pk__in=[])
    if not text:
        return q
    if "@" in text:  # an e-mail address (or its start): nothing else to match
        return q | Q(email__startswith=text.lower()) if access.can_view("email") else q
    if access.can_view("name"):
        name_key = normalize_name(text)
        if name_key:
            if len(name_key) >= MIN_CONTAINS:
                q |= Q(name_normalized__contains=name_key)
            else:
                q |= Q(name_normalized__startswith=name_key)
        key = normalize_query(text)
        if key and _is_pinyin_like(key):
            q |= _pinyin_q(key)
    phone = digits(text)
    if access.can_view("phone") and len(phone) >= 3 and len(phone) >= len(text.strip()) // 2:
        q |= Q(phone_digits__startswith=phone)
    if access.can_view("email") and ("@" in text or (text.isascii() and len(text) >= 3)):
        q |= Q(email__startswith=text.lower())
    return q


def contact_search_q(text: str, access: FieldAccess = FULL_ACCESS) -> Q:
    """The filter for contacts matching `text` by name, pinyin, mobile, phone or email."""
    text = (text or "").strip()[:MAX_QUERY]
    q = Q(pk__in=[])
    if not text:
        return q
    if "@" in text:
        return q | Q(email__startswith=text.lower()) if access.can_view("email") else q
    if access.can_view("name"):
        name = "".join(text.split())
        if len(name) >= MIN_CONTAINS:
            q |= Q(name__contains=name)
        else:
            q |= Q(name__startswith=name)
        key = normalize_query(text)
        if key and _is_pinyin_like(key):
            q |= _pinyin_q(key)
    raw = text.replace(" ", "").replace("-", "")
    if access.can_view("mobile") and len(raw) >= 3 and raw.lstrip("+").isdigit():
        q |= Q(mobile__startswith=raw)
    if access.can_view("email") and ("@" in text or (text.isascii() and len(text) >= 3)):
        q |= Q(email__startswith=text.lower())
    return q


# --- global search and its providers -----------------------------------------------------


@dataclass
class SearchHit:
    kind: str  # "customer", "contact", "lead", …
    id: int
    title: str
    subtitle: str = ""
    url: str = ""
    obj: object = field(default=None, repr=False)


@dataclass(frozen=True)
class SearchProvider:
    key: str
    label: str
    search: Callable  # (user, text, limit) -> list[SearchHit]
    order: int = 100


_providers: dict[str, SearchProvider] = {}


def register_search_provider(key: str, label, search: Callable, *, order: int = 100) -> None:
    """Add a result kind to the global search; `search(user, text, limit)` must honour the
    user's scope (start from `Model.objects.visible_to(user)`) and cost one or two queries."""
    _providers[key] = SearchProvider(key=key, label=label, search=search, order=order)


def search_providers() -> list[SearchProvider]:
    return sorted(_providers.values(), key=lambda p: (p.order, p.key))


def global_search(user, text: str, *, limit: int = 8) -> list[tuple[SearchProvider, list]]:
    """[(provider, hits)] for every provider with hits, in provider order."""
    text = (text or "").strip()
    if not text or not user.is_authenticated:
        return []
    out = []
    for provider in search_providers():
        hits = provider.search(user, text, limit)
        if hits:
            out.append((provider, hits))
    return out


def _rank(hits: list[SearchHit], text: str) -> list[SearchHit]:
    key = normalize_query(text)
    return sorted(hits, key=lambda h: (not normalize_query(h.title).startswith(key), h.title))


def search_customers(user, text: str, limit: int = 8) -> list[SearchHit]:
    from .models import Customer

    if not user.has_perm("customers.view_customer"):
        return []
    access = field_access(user, Customer)
    # No ORDER BY: the first matching rows come straight off the indexes; a handful of hits
    # is ranked in Python.
    rows = (
        Customer.objects.visible_to(user)
        .filter(customer_search_q(text, access))
        .select_related("owner")
        .only("pk", "name", "city", "province", "owner__display_name", "owner__username")[:limit]
    )
    hits = [
        SearchHit(
            kind="customer",
            id=c.pk,
            title=c.name,
            subtitle=" · ".join(
                p for p in (c.province, c.city, str(c.owner) if c.owner else str(_("Pool"))) if p
            ),
            url=c.get_absolute_url(),
            obj=c,
        )
        for c in rows
    ]
    return _rank(hits, text)


def search_contacts(user, text: str, limit: int = 8) -> list[SearchHit]:
    from .models import Contact

    if not user.has_perm("customers.view_contact"):
        return []
    access = field_access(user, Contact)
    rows = (
        Contact.objects.visible_to(user)
        .filter(contact_search_q(text, access))
        .select_related("customer")
        .only("pk", "name", "title", "customer__id", "customer__name")[:limit]
    )
    hits = [
        SearchHit(
            kind="contact",
            id=c.pk,
            title=c.name,
            subtitle=" · ".join(p for p in (c.title, c.customer.name) if p),
            url=c.customer.get_absolute_url(),
            obj=c,
        )
        for c in rows
    ]
    return _rank(hits, text)


def register_builtin() -> None:
    register_search_provider("customers", _("Customers"), search_customers, order=10)
    register_search_provider("contacts", _("Contacts"), search_contacts, order=20)
