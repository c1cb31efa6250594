"""API keys: external integrators and first-party services authenticate with these."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ApiKey(models.Model):
    """A bearer key. Only a SHA-256 of the secret is stored; ``prefix`` identifies it.

    ``first_party`` keys are service tokens: they may call ``/rpc`` without CSRF.
    ``scopes`` lists capability ids; empty means every capability.
    """

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    first_party = models.BooleanField(
        default=False, help_text="Service token: may call /rpc (first-party) without CSRF."
    )
    scopes = models.JSONField(
        default=list, blank=True, help_text="Capability ids this key may call; empty = all."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "API key"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
