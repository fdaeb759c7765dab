"""The request form's data: typed fields per built-in kind plus the template's extra fields.

Everything lands in `ApprovalRequest.data` (JSON) under fixed keys, so conditions can name them
(`data.days`, `data.discount`):

    leave     {"type", "start", "end", "days", "reason"}
    expense   {"lines": [{"category", "amount", "date", "description", "receipt"}]}
    purchase  {"lines": [{"item", "quantity", "price", "supplier"}], "reason"}
    any kind  {<extra field key>: value, ...}

Values are validated by studio's one validation function (`clean_value`) through unsaved
`FieldDefinition` objects, so they have the same shapes and messages as custom fields
(decimals as exact strings, dates as "YYYY-MM-DD"). Expense and purchase amounts are the sum of
their lines. `clean_request_data` is called by forms, serializers and the services alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.studio.models import FieldDefinition, FieldType, key_validator, normalise_choices
from apps.studio.validation import clean_value

from .models import Kind

CENT = Decimal("0.01")
MAX_LINES = 50
MAX_AMOUNT = Decimal("999999999999.99")

LEAVE_TYPES = [
    ("annual", gettext_lazy("Annual leave")),
    ("sick", gettext_lazy("Sick leave")),
    ("personal", gettext_lazy("Personal leave")),
    ("compensatory", gettext_lazy("Time off in lieu")),
    ("marriage", gettext_lazy("Marriage leave")),
    ("parental", gettext_lazy("Maternity / paternity leave")),
    ("bereavement", gettext_lazy("Bereavement leave")),
    ("other", gettext_lazy("Other")),
]
EXPENSE_CATEGORIES = [
    ("travel", gettext_lazy("Travel")),
    ("lodging", gettext_lazy("Lodging")),
    ("transport", gettext_lazy("Local transport")),
    ("meals", gettext_lazy("Meals")),
    ("entertainment", gettext_lazy("Client entertainment")),
    ("office", gettext_lazy("Office supplies")),
    ("communication", gettext_lazy("Phone and internet")),
    ("other", gettext_lazy("Other")),
]

# Keys each kind owns in `data`; extra fields may not reuse them.
KIND_KEYS: dict[str, tuple[str, ...]] = {
    Kind.LEAVE: ("type", "start", "end", "days", "reason"),
    Kind.EXPENSE: ("lines",),
    Kind.PURCHASE: ("lines", "reason"),
}
RESERVED_KEYS = {"title", "amount", "lines", "custom"}
KINDS_WITH_LINES = (Kind.EXPENSE, Kind.PURCHASE)
KINDS_WITHOUT_AMOUNT = (Kind.LEAVE,)


def _choices(pairs) -> list[dict]:
    return [{"value": v, "label": str(label)} for v, label in pairs]


def _field(key, label, type_, **kwargs) -> FieldDefinition:
    return FieldDefinition(key=key, label=str(label), type=type_, **kwargs)


def leave_fields() -> list[FieldDefinition]:
    return [
        _field(
            "type", _("Leave type"), FieldType.CHOICE, required=True, choices=_choices(LEAVE_TYPES)
        ),
        _field("start", _("From"), FieldType.DATE, required=True),
        _field("end", _("To"), FieldType.DATE, required=True),
        _field(
            "days",
            _("Days"),
            FieldType.DECIMAL,
            decimal_places=1,
            min_value=Decimal("0.5"),
            max_value=Decimal("366"),
            help_text=_("Working days off; empty: counted from the dates."),
        ),
        _field("reason", _("Reason"), FieldType.TEXTAREA, max_value=Decimal(2000)),
    ]


def expense_line_fields() -> list[FieldDefinition]:
    return [
        _field(
            "category",
            _("Category"),
            FieldType.CHOICE,
            required=True,
            choices=_choices(EXPENSE_CATEGORIES),
        ),
        _field(
            "amount",
            _("Amount"),
            FieldType.DECIMAL,
            required=True,
            decimal_places=2,
            min_value=CENT,
            max_value=MAX_AMOUNT,
        ),
        _field("date", _("Date"), FieldType.DATE),
        _field("description", _("Description"), FieldType.TEXT, max_value=Decimal(200)),
    ]


def purchase_line_fields() -> list[FieldDefinition]:
    return [
        _field("item", _("Item"), FieldType.TEXT, required=True, max_value=Decimal(200)),
        _field(
            "quantity",
            _("Quantity"),
            FieldType.DECIMAL,
            required=True,
            decimal_places=3,
            min_value=Decimal("0.001"),
            max_value=Decimal("1000000000"),
        ),
        _field(
            "price",
            _("Unit price"),
            FieldType.DECIMAL,
            required=True,
            decimal_places=2,
            min_value=Decimal(0),
            max_value=MAX_AMOUNT,
        ),
        _field("supplier", _("Supplier"), FieldType.TEXT, max_value=Decimal(200)),
    ]


def line_fields(kind: str) -> list[FieldDefinition]:
    if kind == Kind.EXPENSE:
        return expense_line_fields()
    if kind == Kind.PURCHASE:
        return purchase_line_fields()
    return []


def kind_fields(kind: str) -> list[FieldDefinition]:
    """Top-level typed fields of a kind (lines are separate)."""
    if kind == Kind.LEAVE:
        return leave_fields()
    if kind == Kind.PURCHASE:
        return [_field("reason", _("Reason"), FieldType.TEXTAREA, max_value=Decimal(2000))]
    return []


# --- extra fields defined on a template ------------------------------------------------------

SPEC_KEYS = (
    "key",
    "label",
    "type",
    "required",
    "choices",
    "min_value",
    "max_value",
    "decimal_places",
    "regex",
    "regex_message",
    "help_text",
)


def definition_from_spec(spec: Mapping) -> FieldDefinition:
    """An unsaved FieldDefinition for one extra-field spec (already validated)."""
    d = FieldDefinition(
        key=spec["key"],
        label=spec.get("label") or spec["key"],
        type=spec.get("type") or FieldType.TEXT,
        required=bool(spec.get("required")),
        choices=spec.get("choices") or [],
        regex=spec.get("regex") or "",
        regex_message=spec.get("regex_message") or "",
        help_text=spec.get("help_text") or "",
        decimal_places=int(spec.get("decimal_places", 2) or 0),
    )
    for bound in ("min_value", "max_value"):
        if spec.get(bound) not in (None, ""):
            setattr(d, bound, Decimal(str(spec[bound])))
    return d


def validate_extra_field_specs(specs, *, kind: str) -> list[dict]:
    """Check a template's extra-field list; return it normalised. Raises ValidationError."""
    if specs in (None, ""):
        return []
    if not isinstance(specs, list):
        raise ValidationError(_("Extra fields must be a list of field objects."))
    reserved = RESERVED_KEYS | set(KIND_KEYS.get(kind, ()))
    out, seen = [], set()
    for n, spec in enumerate(specs, 1):
        if not isinstance(spec, Mapping):
            raise ValidationError(_("Extra field %(n)s is not an object.") % {"n": n})
        unknown = set(spec) - set(SPEC_KEYS)
        if unknown:
            raise ValidationError(
                _("Extra field %(n)s: unknown settings %(keys)s.")
                % {"n": n, "keys": ", ".join(sorted(map(str, unknown)))}
            )
        key = spec.get("key")
        if not isinstance(key, str):
            raise ValidationError(_("Extra field %(n)s needs a key.") % {"n": n})
        try:
            key_validator(key)
        except ValidationError as exc:
            raise ValidationError(f"{key}: {exc.messages[0]}") from None
        if key in reserved:
            raise ValidationError(
                _("Extra field key '%(key)s' is used by the request form itself.") % {"key": key}
            )
        if key in seen:
            raise ValidationError(_("Extra field key '%(key)s' is listed twice.") % {"key": key})
        seen.add(key)
        if spec.get("type", FieldType.TEXT) not in FieldType.values:
            raise ValidationError(
                _("Extra field '%(key)s': unknown type %(type)s.")
                % {"key": key, "type": spec.get("type")}
            )
        clean = {k: spec[k] for k in SPEC_KEYS if k in spec and spec[k] not in (None, "")}
        clean.setdefault("label", key)
        clean.setdefault("type", FieldType.TEXT)
        clean["required"] = bool(spec.get("required"))
        try:
            if "choices" in clean:
                clean["choices"] = normalise_choices(clean["choices"])
            for bound in ("min_value", "max_value"):
                if bound in clean:
                    clean[bound] = str(Decimal(str(clean[bound])))
        except (InvalidOperation, ValueError):
            raise ValidationError(
                _("Extra field '%(key)s': minimum and maximum must be numbers.") % {"key": key}
            ) from None
        except ValidationError as exc:
            raise ValidationError(f"{key}: {exc.messages[0]}") from None
        d = definition_from_spec(clean)
        try:
            d.clean()
        except ValidationError as exc:
            raise ValidationError(
                f"{key}: " + "; ".join(m for msgs in exc.message_dict.values() for m in msgs)
            ) from None
        out.append(clean)
    return out


def extra_definitions(extra_specs) -> list[FieldDefinition]:
    return [definition_from_spec(s) for s in extra_specs or []]


# --- one function to clean a request's data ---------------------------------------------------


def _money(value) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def _clean_fields(defs, raw: Mapping, errors: dict, prefix: str = "") -> dict:
    out = {}
    for d in defs:
        try:
            value = clean_value(d, raw.get(d.key), check_unique=False)
        except ValidationError as exc:
            errors[prefix + d.key] = [str(m) for m in exc.messages]
            continue
        if value not in (None, [], ""):
            out[d.key] = value
    return out


def _clean_lines(kind: str, raw_lines, errors: dict) -> list[dict]:
    if raw_lines in (None, ""):
        raw_lines = []
    if not isinstance(raw_lines, list):
        errors["lines"] = [_("Lines must be a list.")]
        return []
    if not raw_lines:
        errors["lines"] = [_("Add at least one line.")]
        return []
    if len(raw_lines) > MAX_LINES:
        errors["lines"] = [_("At most %(n)s lines.") % {"n": MAX_LINES}]
        return []
    defs = line_fields(kind)
    known = {d.key for d in defs} | {"receipt"}
    lines = []
    for i, raw in enumerate(raw_lines):
        if not isinstance(raw, Mapping):
            errors[f"lines.{i}"] = [_("Each line is an object.")]
            continue
        for key in raw:
            if key not in known:
                errors[f"lines.{i}.{key}"] = [_("Unknown field.")]
        line = _clean_fields(defs, raw, errors, prefix=f"lines.{i}.")
        receipt = raw.get("receipt")
        if kind == Kind.EXPENSE and receipt not in (None, ""):
            if isinstance(receipt, bool) or not str(receipt).isdigit():
                errors[f"lines.{i}.receipt"] = [_("A receipt is an uploaded attachment's id.")]
            else:
                line["receipt"] = int(receipt)
        lines.append(line)
    return lines


def clean_request_data(
    template_kind: str, extra_specs, raw_data, raw_amount=None
) -> tuple[dict, Decimal, dict[str, list[str]]]:
    """Raw form/API data -> (clean data, amount, {"key" or "lines.0.amount": [messages]}).

    The amount of expense and purchase requests is the sum of their lines, of leave requests 0;
    for the other kinds it is the amount given.
    """
    errors: dict[str, list[str]] = {}
    if raw_data in (None, ""):
        raw_data = {}
    if not isinstance(raw_data, Mapping):
        return {}, Decimal(0), {"data": [_("Form data must be an object of key: value.")]}
    kind = template_kind
    extra_defs = extra_definitions(extra_specs)
    known = set(KIND_KEYS.get(kind, ())) | {d.key for d in extra_defs}
    for key in raw_data:
        if key not in known:
            errors[str(key)] = [_("Unknown field.")]
    data = _clean_fields(kind_fields(kind), raw_data, errors)
    amount = Decimal(0)
    if kind == Kind.LEAVE and "start" in data and "end" in data:
        start, end = parse_date(data["start"]), parse_date(data["end"])
        if end < start:
            errors["end"] = [_("The leave ends before it starts.")]
        elif "days" not in data and "days" not in errors:
            data["days"] = f"{(end - start).days + 1}.0"
    if kind in KINDS_WITH_LINES:
        lines = _clean_lines(kind, raw_data.get("lines"), errors)
        data["lines"] = lines
        if kind == Kind.EXPENSE:
            amount = sum((Decimal(line.get("amount", 0)) for line in lines), Decimal(0))
        else:
            amount = sum(
                (
                    Decimal(line.get("quantity", 0)) * Decimal(line.get("price", 0))
                    for line in lines
                ),
                Decimal(0),
            )
        amount = _money(amount)
        if amount > MAX_AMOUNT:
            errors["amount"] = [_("The total is too large.")]
    elif kind not in KINDS_WITHOUT_AMOUNT:
        amount, amount_error = clean_amount(raw_amount)
        if amount_error:
            errors["amount"] = [amount_error]
    data.update(_clean_fields(extra_defs, raw_data, errors))
    return data, amount, errors


def clean_amount(raw) -> tuple[Decimal, str | None]:
    if raw in (None, ""):
        return Decimal("0.00"), None
    if isinstance(raw, bool):
        return Decimal(0), _("Enter a number.")
    try:
        value = Decimal(str(raw).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        return Decimal(0), _("Enter a number.")
    if not value.is_finite():
        return Decimal(0), _("Enter a number.")
    if value < 0:
        return Decimal(0), _("The amount can't be negative.")
    if value > MAX_AMOUNT:
        return Decimal(0), _("The amount is too large.")
    if value != value.quantize(CENT, rounding=ROUND_HALF_UP):
        return Decimal(0), _("Use at most 2 decimal places.")
    return _money(value), None


def display_rows(kind: str, extra_specs, data: Mapping) -> list[tuple[str, str]]:
    """(label, text) pairs of the top-level values, for the detail page (lines separately)."""
    from apps.studio.validation import display_value

    rows = []
    for d in kind_fields(kind) + extra_definitions(extra_specs):
        value = (data or {}).get(d.key)
        if value in (None, "", []):
            continue
        rows.append((d.label, display_value(d, value)))
    return rows


def display_lines(kind: str, data: Mapping) -> tuple[list[str], list[list[str]]]:
    """(header labels, rows of display texts) for expense/purchase lines."""
    from apps.studio.validation import display_value

    defs = line_fields(kind)
    if not defs:
        return [], []
    header = [d.label for d in defs]
    rows = []
    for line in (data or {}).get("lines", []):
        rows.append([display_value(d, line.get(d.key)) for d in defs])
    return header, rows


def leave_type_label(value) -> str:
    return str(dict(LEAVE_TYPES).get(value, value))
