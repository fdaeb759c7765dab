"""Fixtures shared by the sales tests. Each area keeps its own in a module of its own and
lists it here (one line per area keeps merges trivial)."""

from .deals_fixtures import deals_org, discount_template  # noqa: F401 - deals area
