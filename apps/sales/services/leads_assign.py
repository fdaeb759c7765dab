"""Lead routing by the admin's assignment rules (DESIGN §2, §6).

Rules are evaluated in `order`; a rule matches when every condition it sets matches (empty:
any) — provinces, territory, industries, sources, campaign. The first matching rule whose
strategy yields an active user gives the owner:

* `single` — the rule's first user (lowest id);
* `round_robin` — the user after `rule.last_user` in id order; the rule row is locked
  (`select_for_update`) while the pointer moves, so concurrent assignments stay fair;
* `least_loaded` — the user with the fewest open leads (one grouped COUNT), ties to the lowest
  id;
* `territory_owner` — the owner of the lead's territory (apps.customers Territory).

A rule whose strategy yields nobody (no users, territory without owner) is skipped. No rule:
`SalesSettings.fallback_owner`; none either: the lead stays unassigned (status new) and the
escalation job tells the department head.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from ..models import AssignmentRule, Lead, SalesSettings


def active_rules() -> list[AssignmentRule]:
    """Active rules in order with their users (two queries)."""
    return list(
        AssignmentRule.objects.filter(is_active=True)
        .select_related("territory__owner")
        .prefetch_related("users")
        .order_by("order", "id")
    )


def rule_matches(rule: AssignmentRule, lead: Lead) -> bool:
    if rule.provinces and lead.province not in rule.provinces:
        return False
    if rule.territory_id and lead.territory_id != rule.territory_id:
        return False
    if rule.industries and lead.industry not in rule.industries:
        return False
    if rule.sources and lead.source not in rule.sources:
        return False
    return not (rule.campaign_id and lead.campaign_id != rule.campaign_id)


def _users(rule: AssignmentRule) -> list:
    return sorted((u for u in rule.users.all() if u.is_active), key=lambda u: u.pk)


def rule_pick(rule: AssignmentRule, lead: Lead):
    """The user `rule` gives `lead` to, or None. Round-robin moves the rule's pointer (call
    inside a transaction)."""
    strategy = rule.strategy
    S = AssignmentRule.Strategy
    if strategy == S.TERRITORY_OWNER:
        territory = lead.territory if lead.territory_id else None
        if territory is None and rule.territory_id:
            territory = rule.territory
        owner = territory.owner if territory is not None else None
        return owner if owner is not None and owner.is_active else None
    users = _users(rule)
    if not users:
        return None
    if strategy == S.SINGLE:
        return users[0]
    if strategy == S.LEAST_LOADED:
        loads = dict(
            Lead.objects.open()
            .filter(owner__in=[u.pk for u in users])
            .order_by()
            .values_list("owner")
            .annotate(n=Count("pk"))
        )
        return min(users, key=lambda u: (loads.get(u.pk, 0), u.pk))
    # Round-robin: lock the rule row, read the pointer, move it.
    last_user_id = (
        AssignmentRule.objects.select_for_update()
        .filter(pk=rule.pk)
        .values_list("last_user_id", flat=True)
        .first()
    )
    ids = [u.pk for u in users]
    nxt = users[0]
    if last_user_id in ids:
        nxt = users[(ids.index(last_user_id) + 1) % len(users)]
    elif last_user_id is not None:
        # The previous user left the pool: continue with the next id after theirs.
        later = [u for u in users if u.pk > last_user_id]
        nxt = later[0] if later else users[0]
    AssignmentRule.objects.filter(pk=rule.pk).update(last_user=nxt)
    rule.last_user = nxt
    return nxt


@transaction.atomic
def lead_route(*, lead: Lead, by=None, now=None, notify_owner: bool = True, rules=None):
    """Give a saved, unowned lead an owner by the rules (or the fallback owner). Returns the
    owner (None: nobody — the lead stays new). `rules` lets a bulk caller load them once."""
    from .leads import _give

    rules = active_rules() if rules is None else rules
    for rule in rules:
        if not rule_matches(rule, lead):
            continue
        owner = rule_pick(rule, lead)
        if owner is not None:
            _give(
                lead,
                owner,
                by,
                now=now or timezone.now(),
                notify_owner=notify_owner,
                how=rule.strategy,
                rule=rule,
            )
            return owner
    fallback = SalesSettings.load().fallback_owner
    if fallback is not None and fallback.is_active:
        _give(lead, fallback, by, now=now, notify_owner=notify_owner, how="fallback")
        return fallback
    return None
