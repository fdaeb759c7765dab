"""One authentication backend for every permission question (DESIGN §4.1).

`user.has_perm("app.change_model")` — model permission from the user's roles (ModelBackend).
`user.has_perm("app.change_model", obj)` — that permission *and* the object inside the user's
data scope, or an object grant through guardian. Field permissions with an object
(`app.view_model__field`) hold when the role holds them and the object is visible, or when the
field permission was granted on that object.
"""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend

from .scopes import has_grant, scope_allows


class WeftBackend(ModelBackend):
    def has_perm(self, user_obj, perm: str, obj=None) -> bool:
        if obj is None:
            return super().has_perm(user_obj, perm)
        if not user_obj.is_active or user_obj.is_anonymous:
            return False
        if user_obj.is_superuser:
            return True
        app_label, _, codename = perm.partition(".")
        if not codename:
            return False
        opts = obj._meta
        if app_label != opts.app_label:
            return False
        action, _, rest = codename.partition("_")
        if rest == opts.model_name and action in ("view", "change", "delete"):
            # Scope first, grants last (`scope_allows` checks them): a user whose scope covers
            # the record needs no grant look-up at all.
            return scope_allows(user_obj, obj, action)
        if has_grant(user_obj, obj, codename):
            return True
        if "__" in rest:
            # Field permission: the role's model-wide grant, on a record the user can see.
            return super().has_perm(user_obj, perm) and scope_allows(user_obj, obj, "view")
        return super().has_perm(user_obj, perm)
