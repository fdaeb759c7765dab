"""Search over customers and contacts: the `?search=` of the API lists and the top bar's global
search, by name, phone, email, pinyin and pinyin initials (typing "zhang" or "zs" finds 张三).

Every branch is an indexed look-up:
* customer names: `LIKE '%text%'` on the normalised name (pg_trgm GIN index on PostgreSQL)
  from three characters on; shorter text matches the start of the name (b-tree prefix index);
  customer pinyin likewise; initials by prefix;
* contacts (people): name, pinyin and initials from the start;
* phone: prefix of the digits; email: prefix of the lower-cased address.
The global search runs one LIMITed query per branch (`first_matches`) so each stops early.
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


def _pinyin_branches(key: str, *, contains: bool) -> list[Q]:
    branches = [Q(name_initials__startswith=key)]
    if contains and len(key) >= MIN_CONTAINS:
        branches.append(Q(name_pinyin__contains=key))
    else:
        branches.append(Q(name_pinyin__startswith=key))
    return branches


def _is_pinyin_like(key: str) -> bool:
    return key.isascii() and key.isalpha()


def customer_search_branches(text: str, access: FieldAccess = FULL_ACCESS) -> list[Q]:
    """The alternatives a customer may match `text` by, each one indexed on its own."""
    text = (text or "").strip()[:MAX_QUERY]
    if not text:
        return []
    if "@" in text:  # an e-mail address (or its start): nothing else to match
        return [Q(email__startswith=text.lower())] if access.can_view("email") else []
    branches = []
    if access.can_view("name"):
        name_key = normalize_name(text)
        key = normalize_query(text)
        pinyin_like = bool(key) and _is_pinyin_like(key)
        if name_key:
            if len(name_key) >= MIN_CONTAINS:
                # Latin words are kept whole in the pinyin column ("IBM中国" → "ibmzhongguo"),
                # so for letters-only text the pinyin substring branch below finds every
                # name this one would; a second trigram scan of the name costs ≈ 20 ms at 1M.
                if not (pinyin_like and name_key == key):
                    branches.append(Q(name_normalized__contains=name_key))
            else:
                branches.append(Q(name_normalized__startswith=name_key))
        if pinyin_like:
            branches.extend(_pinyin_branches(key, contains=True))
    phone = digits(text)
    if access.can_view("phone") and len(phone) >= 3 and len(phone) >= len(text.strip()) // 2:
        branches.append(Q(phone_digits__startswith=phone))
    if access.can_view("email") and text.isascii() and len(text) >= 3 and not phone:
        branches.append(Q(email__startswith=text.lower()))
    return branches


def contact_search_branches(text: str, access: FieldAccess = FULL_ACCESS) -> list[Q]:
    """Contacts are people: their name, pinyin and initials match from the start (typing
    "zhang", "zs" or "张" finds 张三), mobile and e-mail by prefix."""
    text = (text or "").strip()[:MAX_QUERY]
    if not text:
        return []
    if "@" in text:
        return [Q(email__startswith=text.lower())] if access.can_view("email") else []
    branches = []
    if access.can_view("name"):
        name = "".join(text.split())
        branches.append(Q(name__startswith=name))
        key = normalize_query(text)
        if key and _is_pinyin_like(key):
            branches.extend(_pinyin_branches(key, contains=False))
    raw = text.replace(" ", "").replace("-", "")
    if access.can_view("mobile") and len(raw) >= 3 and raw.lstrip("+").isdigit():
        branches.append(Q(mobile__startswith=raw))
    if access.can_view("email") and text.isascii() and len(text) >= 3 and not raw.isdigit():
        branches.append(Q(email__startswith=text.lower()))
    return branches


def _any(branches: list[Q]) -> Q:
    q = Q(pk__in=[])
    for branch in branches:
        q |= branch
    return q


def customer_search_q(text: str, access: FieldAccess = FULL_ACCESS) -> Q:
    """The filter for customers matching `text` (nothing matches empty text)."""
    return _any(customer_search_branches(text, access))


def contact_search_q(text: str, access: FieldAccess = FULL_ACCESS) -> Q:
    """The filter for contacts matching `text` by name, pinyin, mobile or email."""
    return _any(contact_search_branches(text, access))


def first_matches(qs, branches: list[Q], limit: int) -> list:
    """Up to `limit` rows of `qs` matching any branch: one LIMITed query per branch, so each
    uses its own index and stops early (an OR would build every match's bitmap first)."""
    found: dict = {}
    for branch in branches:
        if len(found) >= limit:
            break
        # No ORDER BY (the model's default would sort every match): the first rows an index
        # yields are taken, and the few hits are ranked in Python.
        rows = qs.filter(branch).exclude(pk__in=list(found)).order_by()
        for row in rows[: limit - len(found)]:
            found[row.pk] = row
    return list(found.values())


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
                p
                for p in (
                    c.province if access.can_view("province") else "",
                    c.city if access.can_view("city") else "",
                    (str(c.owner) if c.owner else str(_("Pool")))
                    if access.can_view("owner")
                    else "",
                )
                if p
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
    qs = (
        Contact.objects.visible_to(user)
        .select_related("customer")
        .only("pk", "name", "title", "customer__id", "customer__name")
    )
    rows = first_matches(qs, contact_search_branches(text, access), limit)
    hits = [
        SearchHit(
            kind="contact",
            id=c.pk,
            title=c.name,
            subtitle=" · ".join(
                p
                for p in (
                    c.title if access.can_view("title") else "",
                    c.customer.name if access.can_view("customer") else "",
                )
                if p
            ),
            url=c.customer.get_absolute_url(),
            obj=c,
        )
        for c in rows
    ]
    return _rank(hits, text)


def register_builtin() -> None:
    register_search_provider("customers", _("Customers"), search_customers, order=10)
    register_search_provider("contacts", _("Contacts"), search_contacts, order=20)
