"""The history tests reuse the customers tests' small sales organisation."""

from tests.customers.conftest import org  # noqa: F401
