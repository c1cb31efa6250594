"""factory_boy factories shared by the cross-cutting tests."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client

from rawr_site.host.services import IssuedKey, apikey_create


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.test")
    password = factory.django.Password("pw-for-tests")
    is_active = True


class StaffUserFactory(UserFactory):
    is_staff = True


def issue_key(*, name: str = "test key", first_party: bool = False, scopes=()) -> IssuedKey:
    """An API key created through the real service (the secret is only known here)."""
    return apikey_create(name=name, first_party=first_party, scopes=list(scopes))


def staff_user(*perms: str, superuser: bool = False, username: str | None = None):
    """A staff user holding ``perms``: ``"codename"`` (of ``workflows``) or
    ``"app_label.codename"``; what each console test needs to say who is acting."""
    user = StaffUserFactory(is_superuser=superuser, **({"username": username} if username else {}))
    for perm in perms:
        app_label, _, codename = perm.rpartition(".")
        user.user_permissions.add(
            Permission.objects.get(
                content_type__app_label=app_label or "workflows", codename=codename
            )
        )
    return user


def staff_client(*perms: str, superuser: bool = False, username: str | None = None) -> Client:
    """A test client logged in as ``staff_user(*perms, ...)``."""
    client = Client()
    client.force_login(staff_user(*perms, superuser=superuser, username=username))
    return client
