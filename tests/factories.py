"""factory_boy factories shared by the cross-cutting tests."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

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
