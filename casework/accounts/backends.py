"""The signed-in user of a request, loaded with their roles in one query (issue 15)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.db.models import Exists, OuterRef

from casework.accounts.models import User
from casework.accounts.roles import Role


class RoleLoadingModelBackend(ModelBackend):
    """Django's ModelBackend (passwords, ``is_active``), except that ``get_user``, which
    runs at the start of every signed-in request, reads the user's roles in the same query
    instead of a second one the first time a page checks a role."""

    def get_user(self, user_id: Any) -> User | None:
        memberships = User.groups.through.objects.filter(user_id=OuterRef("pk"))
        flags = {
            f"_has_role_{role.value}": Exists(memberships.filter(group__name=role.value))
            for role in Role
        }
        user = User._default_manager.annotate(**flags).filter(pk=user_id).first()
        if user is None or not self.user_can_authenticate(user):
            return None
        user.remember_roles(
            frozenset(role.value for role in Role if user.__dict__.pop(f"_has_role_{role.value}"))
        )
        return user
