"""The public web form (`POST /api/v1/public/leads/`, page `/sales/forms/<key>/`).

No login: the form key names a `LeadForm`, which sets the lead's source, channel and campaign
(the public can set none of them, nor the owner). Protection:

* honeypot — a field people never see (`website`); a submission that fills it gets the same
  thank-you answer and creates nothing;
* rate limit — at most `LeadForm.rate_limit_per_hour` (else
  `SalesSettings.public_form_rate_limit`) submissions per form and client address per clock
  hour, counted in Django's cache (`cache.add` + `cache.incr`, atomic on Redis and locmem;
  production shares Redis between the app servers so the limit is global). The address is
  `REMOTE_ADDR`: behind a reverse proxy make it pass the client address through (e.g. nginx
  `real_ip`), else every visitor shares the proxy's address and its limit;
* the answer never tells whether the lead was a duplicate.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.core.cache import cache
from django.utils import timezone

from ..models import LeadForm, SalesSettings

HONEYPOT = "website"


def rate_limited(*, form: LeadForm, address: str, consume: bool = True) -> bool:
    """True when `address` used up the form's submissions for this hour (counts this one)."""
    limit = form.rate_limit_per_hour or SalesSettings.load().public_form_rate_limit
    if not limit:
        return False
    bucket = timezone.now().strftime("%Y%m%d%H")
    key = f"weft:leadform:{form.pk}:{address or '-'}:{bucket}"
    if not consume:
        return int(cache.get(key) or 0) >= limit
    cache.add(key, 0, 3700)
    try:
        used = cache.incr(key)
    except ValueError:  # evicted between add and incr
        cache.set(key, 1, 3700)
        used = 1
    return used > limit


def public_lead_submit(*, form: LeadForm, data: Mapping):
    """Create the lead a visitor submitted (no user: `by=None`); returns it."""
    from .leads import PUBLIC_FIELDS, lead_create

    clean = {k: data[k] for k in PUBLIC_FIELDS if k in data and data[k] is not None}
    if isinstance(data.get("custom"), dict):
        clean["custom"] = data["custom"]
    clean["source"] = form.source
    clean["form"] = form
    if form.campaign_id:
        clean["campaign"] = form.campaign
    clean["channel"] = form.channel or (form.campaign.channel if form.campaign_id else "")
    return lead_create(by=None, data=clean)
