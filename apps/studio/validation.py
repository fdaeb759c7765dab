"""The one validation function for custom-field values (DESIGN §4.2).

`validate_custom(Model, raw, instance=...)` returns `(clean, errors)`: `clean` is the full dict
to store in `instance.custom`, `errors` is `{key: [message]}`. Forms, the API, Excel import and
automation all call it, so a rule lives in one place. Stored shapes (JSON):

    text/textarea/email/phone/url/choice -> str      integer -> int
    decimal -> str (exact, e.g. "12.50")            date -> "YYYY-MM-DD"
    datetime -> ISO 8601 in UTC                      boolean -> bool
    multichoice -> [str, ...]                        user -> user id (int)
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from .models import FieldDefinition, FieldType, UniqueCustomValue
from .registry import definitions_for

# "+86 138 0000 0000", "010-6552 9988", "(010) 6552 9988", "400-800-8888 ext 12" is not.
PHONE_RE = re.compile(r"^\+?[0-9(][0-9 ()\-]{3,24}$")
EMPTY = (None, "", [], ())


def _is_empty(value) -> bool:
    return value in EMPTY or (isinstance(value, str) and not value.strip())


def _to_bool(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        v = value.strip().lower()
        if v in ("1", "true", "yes", "on", "y", "是", "t"):
            return True
        if v in ("0", "false", "no", "off", "n", "否", "f"):
            return False
    raise ValidationError(_("Enter yes or no."))


def _plain(number: Decimal) -> str:
    # normalize() alone writes 10 as "1E+1"; people read "10".
    return format(number.normalize(), "f")


def _check_range(d: FieldDefinition, number, *, length: bool = False) -> None:
    if d.min_value is not None and number < d.min_value:
        if length:
            raise ValidationError(_("Enter at least %(n)s characters.") % {"n": int(d.min_value)})
        raise ValidationError(_("Enter a value of at least %(n)s.") % {"n": _plain(d.min_value)})
    if d.max_value is not None and number > d.max_value:
        if length:
            raise ValidationError(_("Enter at most %(n)s characters.") % {"n": int(d.max_value)})
        raise ValidationError(_("Enter a value of at most %(n)s.") % {"n": _plain(d.max_value)})


def _check_regex(d: FieldDefinition, text: str) -> None:
    if d.regex and not re.fullmatch(d.regex, text):
        raise ValidationError(d.regex_message or _("The value does not have the expected format."))


def _parse(d: FieldDefinition, value):
    """Raw value (already non-empty) -> stored JSON value, or ValidationError."""
    t = d.type
    if t in (FieldType.TEXT, FieldType.TEXTAREA, FieldType.EMAIL, FieldType.PHONE, FieldType.URL):
        if not isinstance(value, str | int | Decimal) or isinstance(value, bool):
            raise ValidationError(_("Enter text."))
        text = str(value).strip()
        if t == FieldType.TEXT and ("\n" in text or len(text) > 1000):
            raise ValidationError(_("Enter one line of at most 1000 characters."))
        if len(text) > 20000:
            raise ValidationError(_("The text is too long."))
        if t == FieldType.EMAIL:
            EmailValidator(message=_("Enter a valid email address."))(text)
        elif t == FieldType.PHONE:
            if not PHONE_RE.match(text):
                raise ValidationError(_("Enter a valid phone number."))
        elif t == FieldType.URL:
            URLValidator(message=_("Enter a valid URL."))(text)
        _check_range(d, len(text), length=True)
        _check_regex(d, text)
        return text
    if t == FieldType.INTEGER:
        if isinstance(value, bool):
            raise ValidationError(_("Enter a whole number."))
        if isinstance(value, float) and not value.is_integer():
            raise ValidationError(_("Enter a whole number."))
        try:
            number = int(str(value).strip()) if not isinstance(value, int | float) else int(value)
        except (TypeError, ValueError):
            raise ValidationError(_("Enter a whole number.")) from None
        if abs(number) > 10**15:
            raise ValidationError(_("The number is too large."))
        _check_range(d, Decimal(number))
        return number
    if t == FieldType.DECIMAL:
        if isinstance(value, bool):
            raise ValidationError(_("Enter a number."))
        try:
            number = Decimal(str(value).strip().replace(",", ""))
        except (InvalidOperation, ValueError):
            raise ValidationError(_("Enter a number.")) from None
        if not number.is_finite() or abs(number) >= Decimal(10) ** 15:
            raise ValidationError(_("Enter a number."))
        quant = Decimal(1).scaleb(-d.decimal_places)
        rounded = number.quantize(quant, rounding=ROUND_HALF_UP)
        if rounded != number:
            raise ValidationError(_("Use at most %(n)s decimal places.") % {"n": d.decimal_places})
        _check_range(d, rounded)
        return str(rounded)
    if t == FieldType.DATE:
        if isinstance(value, dt.datetime):
            raise ValidationError(_("Enter a date (YYYY-MM-DD)."))
        if isinstance(value, dt.date):
            return value.isoformat()
        try:
            parsed = parse_date(str(value).strip())
        except ValueError:
            parsed = None
        if parsed is None:
            raise ValidationError(_("Enter a date (YYYY-MM-DD)."))
        return parsed.isoformat()
    if t == FieldType.DATETIME:
        if isinstance(value, dt.datetime):
            parsed = value
        else:
            try:
                parsed = parse_datetime(str(value).strip())
            except ValueError:
                parsed = None
        if parsed is None:
            raise ValidationError(_("Enter a date and time (YYYY-MM-DDTHH:MM)."))
        if timezone.is_naive(parsed):
            parsed = timezone.make_aware(parsed)
        return parsed.astimezone(dt.UTC).isoformat()
    if t == FieldType.BOOLEAN:
        return _to_bool(value)
    if t == FieldType.CHOICE:
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise ValidationError(_("Select a valid choice."))
        v = str(value).strip()
        if v not in d.choice_values():
            raise ValidationError(_("'%(value)s' is not one of the choices.") % {"value": v})
        return v
    if t == FieldType.MULTICHOICE:
        if isinstance(value, str):
            value = [v for v in re.split(r"[,，;；]", value) if v.strip()]
        if not isinstance(value, list | tuple):
            raise ValidationError(_("Select a list of choices."))
        allowed, out = d.choice_values(), []
        for item in value:
            v = str(item).strip()
            if v not in allowed:
                raise ValidationError(_("'%(value)s' is not one of the choices.") % {"value": v})
            if v not in out:
                out.append(v)
        return out
    if t == FieldType.USER:
        from django.contrib.auth import get_user_model

        User = get_user_model()  # noqa: N806
        if isinstance(value, User):
            value = value.pk
        if isinstance(value, bool):
            raise ValidationError(_("Select a user."))
        try:
            user_id = int(str(value).strip())
        except (TypeError, ValueError):
            user_id = None
        if user_id is None:
            # Import files name people by username.
            user_id = (
                User.objects.filter(username=str(value).strip(), is_active=True)
                .values_list("pk", flat=True)
                .first()
            )
        elif not User.objects.filter(pk=user_id, is_active=True).exists():
            user_id = None
        if user_id is None:
            raise ValidationError(_("Select an active user."))
        return user_id
    raise ValidationError(_("Unknown field type."))  # pragma: no cover


def unique_token(d: FieldDefinition, value) -> str:
    """What two values must not share: case and surrounding spaces don't make a text different."""
    if d.type in (FieldType.TEXT, FieldType.EMAIL, FieldType.URL):
        return str(value).strip().casefold()[:255]
    if d.type == FieldType.PHONE:
        return re.sub(r"[ ()\-]", "", str(value))[:255]
    if d.type == FieldType.DECIMAL:
        return str(Decimal(value).normalize())[:255]
    return str(value)[:255]


def _unique_taken(d: FieldDefinition, value, exclude_pk) -> bool:
    qs = UniqueCustomValue.objects.filter(definition=d, value=unique_token(d, value))
    if exclude_pk is not None:
        qs = qs.exclude(object_id=exclude_pk)
    model = d.content_type.model_class()
    if model is None:
        return qs.exists()
    # A row left by a bulk (queryset) delete holds nothing: sync_unique_values clears it on save.
    return model._base_manager.filter(pk__in=qs.values("object_id")).exists()


def clean_value(d: FieldDefinition, value, *, check_unique: bool = True, exclude_pk=None):
    """One definition, one raw value -> clean value (None when empty) or ValidationError."""
    if _is_empty(value):
        if d.required:
            raise ValidationError(_("This field is required."))
        return [] if d.type == FieldType.MULTICHOICE else None
    clean = _parse(d, value)
    if d.required and d.type == FieldType.MULTICHOICE and not clean:
        raise ValidationError(_("This field is required."))
    if check_unique and d.unique and _unique_taken(d, clean, exclude_pk):
        raise ValidationError(
            _("%(label)s '%(value)s' is already used.") % {"label": d.label, "value": clean}
        )
    return clean


def validate_custom(
    model: type[models.Model],
    raw: dict | None,
    *,
    instance: models.Model | None = None,
    partial: bool = False,
    check_unique: bool = True,
) -> tuple[dict, dict[str, list[str]]]:
    """Raw custom values -> (clean dict to store, {key: [messages]}).

    Keys not given keep the instance's value (or take the default on create); unknown keys
    are errors; values of fields that are no longer active are kept untouched.
    """
    errors: dict[str, list[str]] = {}
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        return {}, {"custom": [_("Custom fields must be an object of key: value.")]}
    definitions = {d.key: d for d in definitions_for(model)}
    for key in raw:
        if key not in definitions:
            errors[str(key)] = [_("Unknown field.")]
    existing = dict(getattr(instance, "custom", None) or {})
    is_new = instance is None or instance.pk is None
    clean = dict(existing)
    exclude_pk = None if is_new else instance.pk
    for key, d in definitions.items():
        if key in raw:
            value = raw[key]
        elif not is_new:
            if key in existing:
                continue
            if partial:
                if d.required and _is_empty(existing.get(key)):
                    errors[key] = [_("This field is required.")]
                continue
            value = None
        else:
            value = d.default
        try:
            cleaned = clean_value(d, value, check_unique=check_unique, exclude_pk=exclude_pk)
        except ValidationError as exc:
            errors[key] = [str(m) for m in exc.messages]
            continue
        if cleaned is None or cleaned == []:
            clean.pop(key, None)
        else:
            clean[key] = cleaned
    return clean, errors


def custom_validation_error(errors: dict[str, list[str]]) -> ValidationError:
    """A Django ValidationError on the `custom` field that still knows which key failed.

    Django can't nest a dict inside a field's errors, so the messages are listed flat under
    "custom" and the per-key dict rides along as `custom_errors` (the API reports it as
    {"custom": {"<key>": [...]}}, see apps.org.api_support).
    """
    exc = ValidationError({"custom": [str(m) for messages in errors.values() for m in messages]})
    exc.custom_errors = {k: [str(m) for m in v] for k, v in errors.items()}
    return exc


def validate_custom_or_raise(model, raw, **kwargs) -> dict:
    clean, errors = validate_custom(model, raw, **kwargs)
    if errors:
        raise custom_validation_error(errors)
    return clean


def sync_unique_values(instance: models.Model) -> None:
    """Mirror the instance's unique custom values into `UniqueCustomValue` (same transaction).

    A value another row holds raises ValidationError naming the field; rows left behind by
    records deleted in bulk are cleared and the insert retried.
    """
    unique_defs = [d for d in definitions_for(type(instance)) if d.unique]
    if not unique_defs:
        return
    UniqueCustomValue.objects.filter(definition__in=unique_defs, object_id=instance.pk).delete()
    custom = instance.custom or {}
    model = type(instance)
    for d in unique_defs:
        value = custom.get(d.key)
        if _is_empty(value):
            continue
        token = unique_token(d, value)
        for attempt in (1, 2):
            try:
                with transaction.atomic():
                    UniqueCustomValue.objects.create(
                        definition=d, value=token, object_id=instance.pk
                    )
                break
            except IntegrityError:
                holder = (
                    UniqueCustomValue.objects.filter(definition=d, value=token)
                    .values_list("object_id", flat=True)
                    .first()
                )
                stale = holder is not None and not model._base_manager.filter(pk=holder).exists()
                if attempt == 1 and stale:
                    UniqueCustomValue.objects.filter(definition=d, value=token).delete()
                    continue
                raise custom_validation_error(
                    {
                        d.key: [
                            _("%(label)s '%(value)s' is already used.")
                            % {"label": d.label, "value": value}
                        ]
                    }
                ) from None


def drop_unique_values(instance: models.Model) -> None:
    if instance.pk is None:
        return
    ct = ContentType.objects.get_for_model(instance)
    UniqueCustomValue.objects.filter(definition__content_type=ct, object_id=instance.pk).delete()


def display_value(d: FieldDefinition, value, users: dict | None = None) -> str:
    """Human text for a stored value (detail pages, exports)."""
    if _is_empty(value):
        return ""
    if d.type == FieldType.BOOLEAN:
        return _("Yes") if value else _("No")
    if d.type == FieldType.CHOICE:
        return d.choice_label(value)
    if d.type == FieldType.MULTICHOICE:
        return ", ".join(d.choice_label(v) for v in value)
    if d.type == FieldType.USER:
        if users and value in users:
            return str(users[value])
        return str(value)
    if d.type == FieldType.DATETIME:
        parsed = parse_datetime(str(value))
        if parsed:
            return timezone.localtime(parsed).strftime("%Y-%m-%d %H:%M")
    return str(value)
