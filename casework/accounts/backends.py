"""The signed-in user of a request, loaded with their roles in one query (issue 15)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.db.models import F, OuterRef, Subquery, Value

from casework.accounts.models import User
from casework.lib.aggregates import SEPARATOR, JoinedText


class RoleLoadingModelBackend(ModelBackend):
    """Django's ModelBackend (passwords, ``is_active``), except that ``get_user``, which
    runs at the start of every signed-in request, reads the user's roles in the same query
    instead of a second one the first time a page checks a role."""

    def get_user(self, user_id: Any) -> User | None:
        # The names of the user's groups joined in one subquery (one EXISTS per role cost
        # more to build than the database took to answer).
        memberships: Any = User.groups.through.objects  # the stubs know no annotation of it
        names = (
            memberships.filter(user_id=OuterRef("pk"))
            .order_by()
            .values("user_id")
            .annotate(names=JoinedText(F("group__name"), Value(SEPARATOR)))
            .values("names")
        )
        found = User._default_manager.annotate(_joined_roles=Subquery(names))
        user = found.filter(pk=user_id).first()
        if user is None or not self.user_can_authenticate(user):
            return None
        joined = user.__dict__.pop("_joined_roles")
        user.remember_roles(frozenset(joined.split(SEPARATOR)) if joined else frozenset())
        return user
