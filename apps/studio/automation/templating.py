"""Message templates of rules: `{customer.name}`-style placeholders over whitelisted fields.

Deliberately not `str.format` (which walks attributes: `{0.__class__}`) and not the Django
template engine (which calls methods and reaches related objects): a placeholder is exactly
`{<model name or "record">.<whitelisted field>}` (custom fields: `{customer.custom.erp_code}`),
replaced by the field's display text. Anything else stays literal text, and `check()` reports
it to the admin when the rule is saved.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\.((?:custom\.)?[a-z][a-z0-9_]*)\}")
# Anything brace-shaped, to tell an admin about placeholders that won't be filled.
LOOSE = re.compile(r"\{[^{}\s]*\}")
MAX_LENGTH = 4000


def _field(spec, prefix: str, name: str) -> str | None:
    if prefix not in (spec.name, "record"):
        return None
    return name if spec.has_field(name) else None


SYSTEM = object()  # render for the system: every field (the run log, rule previews)


def render(template: str, spec, instance, *, user=SYSTEM) -> str:
    """Fill the placeholders for the person who will read the text.

    Field security (DESIGN §4.1): a placeholder of a field `user` may not see renders empty.
    `user=None` means "no one in particular" (an SMS, a group robot, a text several people
    read): only fields no policy restricts for viewing are filled.
    """
    if not template:
        return ""
    access = None
    if user is not SYSTEM:
        from django.contrib.auth.models import AnonymousUser

        from apps.org.fields import field_access

        access = field_access(user or AnonymousUser(), spec.model, instance)

    def replace(match: re.Match) -> str:
        name = _field(spec, match.group(1), match.group(2))
        if name is None:
            return match.group(0)
        if access is not None and not access.can_view(name.removeprefix("custom.")):
            return ""
        return spec.display(instance, name)

    return PLACEHOLDER.sub(replace, str(template)[:MAX_LENGTH])


def check(template: str, spec) -> str:
    """Return the template, or raise ValidationError naming the placeholders that won't work."""
    template = str(template or "")
    if len(template) > MAX_LENGTH:
        raise ValidationError(_("At most %(n)d characters.") % {"n": MAX_LENGTH})
    bad = []
    for loose in LOOSE.findall(template):
        match = PLACEHOLDER.fullmatch(loose)
        if match is None or _field(spec, match.group(1), match.group(2)) is None:
            bad.append(loose)
    if bad:
        raise ValidationError(
            _("Unknown placeholders: %(names)s. Use {%(model)s.<field>} with one of: %(fields)s.")
            % {
                "names": ", ".join(bad),
                "model": spec.name,
                "fields": ", ".join(name for name, _label in spec.field_choices()),
            }
        )
    return template
