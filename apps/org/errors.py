"""The one exception services raise for a refused business action.

Views turn it into a form error or a flash message, the API into a 400 (or 409 for a
conflict). `field` names the offending field when there is one.
"""

from __future__ import annotations


class ServiceError(Exception):
    status_code = 400

    def __init__(
        self,
        message,
        *,
        field: str | None = None,
        code: str | None = None,
        errors: dict | None = None,
    ):
        super().__init__(str(message))
        self.message = message
        self.field = field
        self.code = code
        self._errors = errors

    @property
    def errors(self) -> dict[str, list[str]]:
        """Field errors in the API's shape: {"field": ["message"]} or {"detail": ...}."""
        if self._errors is not None:
            return {
                k: [str(m) for m in (v if isinstance(v, list | tuple) else [v])]
                for k, v in self._errors.items()
            }
        return {self.field or "detail": [str(self.message)]}


class ConflictError(ServiceError):
    """The record changed under the caller (a second click, a race): HTTP 409."""

    status_code = 409
