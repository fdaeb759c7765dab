"""Test-only app: small models that exercise Weft's mechanisms (scopes, custom fields, field
security) before any domain app exists. Installed only when settings.TESTING is true."""
