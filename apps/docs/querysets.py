"""Who sees which announcement, folder and document: `visible_to(user)` in one SQL query.

The querysets subclass `apps.org.scopes.ScopedQuerySet`, so the foundation's three layers still
hold (a role's data scope on the owner/publisher, guardian grants on the record, superusers see
all); what the library adds is its *audience* rule, plugged in through the models'
`scope_extra_q` (one query: M2M memberships and grants are `pk__in` sub-queries, never joins, so
no row comes back twice and no DISTINCT is needed) and mirrored for one object by
`*_allows` (which asks the same Q for that pk, so the two can never disagree).

The only things computed in Python before the query are per-user and cached on the user object
like the foundation's own caches: the ids of the user's department and its ancestors (an
announcement to 销售部 reaches 销售部/华东组 too).
"""

from __future__ import annotations

import re

from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.models import (
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import StrIndex, Upper
from django.db.models.lookups import GreaterThan
from django.utils import timezone

from apps.org.models import Department
from apps.org.scopes import ScopedQuerySet, _cache


def department_ancestor_ids(user) -> frozenset[int]:
    """The user's department and every department above it (one query over the small tree)."""
    cache = _cache(user)
    if "docs_dept_up" not in cache:
        found: set[int] = set()
        if user.department_id:
            parents = dict(Department.objects.values_list("pk", "parent_id"))
            node = user.department_id
            while node is not None and node not in found:
                found.add(node)
                node = parents.get(node)
        cache["docs_dept_up"] = frozenset(found)
    return cache["docs_dept_up"]


def _group_ids(user):
    # A sub-query, not a list: it rides along in the one SQL statement.
    return Group.user_set.through.objects.filter(user_id=user.pk).values("group_id")


def _granted_q(user, model, field: str = "pk") -> Q:
    """`field` is the id of a `model` row shared with the user or one of their roles (guardian).

    Straight from guardian's grant tables (see apps.org.scopes.grants_q): a small subquery over
    the user's own grants, not a scan of the whole model table.
    """
    from django.db.models import BigIntegerField
    from django.db.models.functions import Cast
    from guardian.models import GroupObjectPermission, UserObjectPermission

    ct = ContentType.objects.get_for_model(model)
    name = model._meta.model_name
    codes = [f"view_{name}", f"change_{name}"]
    by_user = UserObjectPermission.objects.filter(
        user=user, content_type=ct, permission__codename__in=codes
    ).annotate(obj_id=Cast("object_pk", BigIntegerField()))
    by_role = GroupObjectPermission.objects.filter(
        group__user=user, content_type=ct, permission__codename__in=codes
    ).annotate(obj_id=Cast("object_pk", BigIntegerField()))
    return Q(**{f"{field}__in": by_user.values("obj_id")}) | Q(
        **{f"{field}__in": by_role.values("obj_id")}
    )


def _members_q(model, user) -> Q:
    """Rows of a model with `departments`/`roles` M2Ms listing the user's department or roles."""
    name = model._meta.model_name
    depts = model.departments.through.objects.filter(
        department_id__in=sorted(department_ancestor_ids(user))
    ).values(f"{name}_id")
    roles = model.roles.through.objects.filter(group_id__in=_group_ids(user)).values(f"{name}_id")
    return Q(pk__in=depts) | Q(pk__in=roles)


# --- announcements --------------------------------------------------------------------------


def announcement_audience_q(user, *, include_own: bool = True) -> Q:
    """Published announcements whose audience includes `user` (and, by default, their own)."""
    from .models import Announcement, Audience

    audience = Q(audience=Audience.EVERYONE)
    depts = Announcement.departments.through.objects.filter(
        department_id__in=sorted(department_ancestor_ids(user))
    ).values("announcement_id")
    roles = Announcement.roles.through.objects.filter(group_id__in=_group_ids(user)).values(
        "announcement_id"
    )
    audience |= Q(audience=Audience.DEPARTMENTS, pk__in=depts)
    audience |= Q(audience=Audience.ROLES, pk__in=roles)
    q = Q(published_at__lte=timezone.now()) & audience
    if include_own:
        q |= Q(publisher=user.pk)
    return q


def announcement_allows(user, obj) -> bool:
    return type(obj).objects.filter(pk=obj.pk).filter(announcement_audience_q(user)).exists()


class AnnouncementQuerySet(ScopedQuerySet):
    def published(self) -> QuerySet:
        return self.filter(published_at__lte=timezone.now())

    def with_read_state(self, user) -> QuerySet:
        """Annotate `is_read` (for `user`) and `read_count` with sub-queries (no N+1)."""
        from .models import AnnouncementRead

        reads = AnnouncementRead.objects.filter(announcement=OuterRef("pk"))
        count = reads.order_by().values("announcement").annotate(n=Count("pk")).values("n")[:1]
        return self.annotate(
            is_read=Exists(reads.filter(user_id=user.pk)),
            read_count=Subquery(count, output_field=IntegerField()),
        )

    def for_audience_member(self, user) -> QuerySet:
        """Published announcements addressed to `user` (not their own unless addressed)."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        return self.filter(announcement_audience_q(user, include_own=False))


# --- library --------------------------------------------------------------------------------


def _visible_rule_ids(user) -> QuerySet:
    """Folders with their own restricted rule that lets `user` in (departments, roles, grants)."""
    from .models import Folder, Visibility

    return Folder.objects.filter(
        Q(visibility=Visibility.RESTRICTED) & (_members_q(Folder, user) | _granted_q(user, Folder))
    ).values("pk")


def _rule_open_q(prefix: str, user) -> Q:
    """The rule behind `<prefix>rule` lets the user in (None at the top = everyone)."""
    from .models import Visibility

    return (
        Q(**{f"{prefix}rule__isnull": True})
        | Q(**{f"{prefix}rule__visibility": Visibility.EVERYONE})
        | Q(**{f"{prefix}rule_id__in": _visible_rule_ids(user)})
    )


def folder_audience_q(user) -> Q:
    return Q(owner=user.pk) | _rule_open_q("", user)


def folder_allows(user, obj) -> bool:
    return type(obj).objects.filter(pk=obj.pk).filter(folder_audience_q(user)).exists()


def document_audience_q(user) -> Q:
    from .models import Document, Folder, Visibility

    own_rule = Q(visibility=Visibility.EVERYONE) | (
        Q(visibility=Visibility.RESTRICTED) & _members_q(Document, user)
    )
    inherited = Q(visibility=Visibility.INHERIT) & (
        Q(folder__isnull=True)
        | _rule_open_q("folder__", user)
        # Sharing a folder with someone opens the documents in it that follow the folder.
        | _granted_q(user, Folder, "folder_id")
    )
    return Q(owner=user.pk) | own_rule | inherited


def document_allows(user, obj) -> bool:
    return type(obj).objects.filter(pk=obj.pk).filter(document_audience_q(user)).exists()


def _contains(field: str, term: str) -> Q:
    """Case-insensitive "contains" that no index serves (strpos/instr, not LIKE)."""
    found = StrIndex(Upper(field), Upper(Value(term)))
    return Q(GreaterThan(found, 0))


class FolderQuerySet(ScopedQuerySet):
    pass


CJK_RUN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]{2,}")


def cjk_bigrams(text: str) -> list[str]:
    """Every pair of adjacent CJK characters in `text`, as the database's weft_cjk_bigrams()
    computes them for the indexed columns (migration 0003)."""
    found: dict[str, None] = {}
    for run in CJK_RUN.findall(text or ""):
        for i in range(len(run) - 1):
            found.setdefault(run[i : i + 2], None)
    return list(found)


# Document ids whose generated bigram columns (GIN, migration 0003) hold all the term's CJK
# bigrams, re-checked for the exact substring. Plain SQL: the columns are not model fields.
BIGRAM_IDS_SQL = (
    "SELECT d.id FROM docs_document d WHERE d.search_bigrams @> %s::text[] "
    "AND (strpos(upper(d.title), upper(%s)) > 0 OR strpos(upper(d.body), upper(%s)) > 0) "
    "UNION "
    "SELECT v.document_id FROM docs_documentversion v WHERE v.search_bigrams @> %s::text[] "
    "AND strpos(upper(v.original_name), upper(%s)) > 0"
)

BIGRAM_ONLY_IDS_SQL = (
    "SELECT d.id FROM docs_document d WHERE d.search_bigrams @> %s::text[] "
    "UNION "
    "SELECT v.document_id FROM docs_documentversion v WHERE v.search_bigrams @> %s::text[]"
)


class DocumentQuerySet(ScopedQuerySet):
    def search(self, term: str, fields=None) -> QuerySet:
        """Titles, bodies and file names (any version) containing `term`, case-insensitively.

        Always an exact substring match; what differs is the index that finds the candidates
        on PostgreSQL:
        - a term with Chinese in it (合同, 远程运维, 报价单-v2): the generated `search_bigrams`
          columns (GIN, migration 0003) must hold every CJK bigram of the term, then the exact
          substring is re-checked on those few rows;
        - other terms of three or more characters (gateway, 第4242号 has no CJK pair):
          `icontains`, served by the pg_trgm GIN indexes on UPPER(column) (migration 0002);
        - one- or two-character terms without a CJK pair (AI, 5G, 合): a scan with strpos(),
          which no index serves — rare, and documented as the slow path.
        SQLite always scans, which is fine at its sizes.
        """
        from .models import DocumentVersion

        term = (term or "").strip()
        if not term:
            return self
        if fields is not None and set(fields) != {"title", "body"}:
            # Field security hides the title or the body from this reader: match only what
            # they may see (a plain scan; the indexes above cover both columns together).
            q = Q(
                pk__in=DocumentVersion.objects.filter(original_name__icontains=term).values(
                    "document_id"
                )
            )
            for name in fields:
                q |= Q(**{f"{name}__icontains": term})
            return self.filter(q)
        bigrams = cjk_bigrams(term) if connection.vendor == "postgresql" else []
        if bigrams and CJK_RUN.fullmatch(term) and len(term) == 2:
            # The term is one CJK bigram: holding it *is* containing the term, no re-check
            # (which would read every candidate's body).
            sql = BIGRAM_ONLY_IDS_SQL
            return self.filter(pk__in=RawSQL(sql, (bigrams, bigrams)))  # noqa: S611 - constant
        if bigrams:
            params = (bigrams, term, term, bigrams, term)
            return self.filter(pk__in=RawSQL(BIGRAM_IDS_SQL, params))  # noqa: S611 - constant SQL
        if len(term) >= 3:
            texts = self.model.objects.filter(Q(title__icontains=term) | Q(body__icontains=term))
            files = DocumentVersion.objects.filter(original_name__icontains=term)
        else:
            texts = self.model.objects.filter(_contains("title", term) | _contains("body", term))
            files = DocumentVersion.objects.filter(_contains("original_name", term))
        # One id list (UNION) the outer query joins against, rather than `pk IN (a) OR pk IN (b)`,
        # which PostgreSQL can only evaluate row by row over the whole visible table.
        ids = (
            texts.order_by()
            .values_list("pk", flat=True)
            .union(files.order_by().values_list("document_id", flat=True))
        )
        return self.filter(pk__in=ids)
