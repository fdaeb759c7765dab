"""Notification events users can choose channels for. Apps register theirs from ready():

    from apps.notify.events import register_event
    register_event("customers.assigned", _("A customer was assigned to me"))

Event patterns in robot and webhook subscriptions: an exact name, "prefix.*" or "*".
"""

from __future__ import annotations

_events: dict[str, object] = {}


def register_event(key: str, label) -> None:
    _events[key] = label


def events() -> list[tuple[str, object]]:
    return sorted(_events.items())


def label(key: str):
    return _events.get(key, key)


def matches(patterns, event: str) -> bool:
    for pattern in patterns or []:
        if pattern == "*" or pattern == event:
            return True
        if pattern.endswith(".*") and event.startswith(pattern[:-1]):
            return True
    return False
