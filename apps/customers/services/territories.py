"""Territories: province → territory → region + suggested owner (DESIGN §2).

`territory_for_province` is the one look-up the customer form's field linkage, customer
creation and the sales app's lead assignment use.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from ..models import Territory
from ._common import require


@dataclass(frozen=True)
class TerritoryMatch:
    territory: Territory
    region: str
    owner_id: int | None

    @property
    def owner(self):
        return self.territory.owner


def territory_map() -> dict[str, Territory]:
    """{province: territory} over the active territories (one query; owners loaded)."""
    found: dict[str, Territory] = {}
    for territory in Territory.objects.filter(active=True).select_related("owner"):
        for province in territory.provinces or []:
            found.setdefault(province, territory)
    return found


def territory_for_province(province: str | None) -> TerritoryMatch | None:
    """The territory a province belongs to, its region label and its owner; None if none."""
    province = (province or "").strip()
    if not province:
        return None
    territory = territory_map().get(province)
    if territory is None:
        # "上海市" / "广东省" as people type them → "上海" / "广东".
        for suffix in ("省", "市", "自治区", "特别行政区", "壮族自治区", "回族自治区"):
            if province.endswith(suffix):
                territory = territory_map().get(province[: -len(suffix)])
                break
    if territory is None:
        return None
    return TerritoryMatch(
        territory=territory, region=territory.region or territory.name, owner_id=territory.owner_id
    )


@transaction.atomic
def territory_save(*, territory: Territory, by=None) -> Territory:
    """Create or change a territory (a province may belong to one active territory only)."""
    perm = "customers.change_territory" if territory.pk else "customers.add_territory"
    require(by, perm)
    territory.full_clean()
    territory.save()
    return territory


@transaction.atomic
def territory_delete(*, territory: Territory, by=None) -> None:
    require(by, "customers.delete_territory")
    territory.delete()
