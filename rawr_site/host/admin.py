"""API keys in the admin: listed with their prefix only, revoked by an action."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from rawr_site.contract import registry
from rawr_site.host.models import ApiKey
from rawr_site.host.services import apikey_create, apikey_revoke


class ApiKeyForm(forms.ModelForm):
    """Scopes are checked like ``rawr apikey create --scope`` does: known capability ids.

    The model field takes any JSON, and ``apikey_create`` turns a string into its letters.
    """

    class Meta:
        model = ApiKey
        fields = ("name", "first_party", "scopes")

    def clean_scopes(self) -> list[str]:
        scopes: Any = self.cleaned_data.get("scopes") or []
        if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
            raise forms.ValidationError(
                'Enter a JSON list of capability ids, like ["search"], or [] for all.'
            )
        known = {contract.capability for contract in registry.all_contracts()}
        unknown = sorted(set(scopes) - known)
        if unknown:
            raise forms.ValidationError(
                f"Unknown capability id(s): {', '.join(unknown)} "
                f"(known: {', '.join(sorted(known))})."
            )
        return scopes


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    form = ApiKeyForm
    list_display = (
        "name",
        "prefix",
        "first_party",
        "scopes",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    list_filter = ("first_party", ("revoked_at", admin.EmptyFieldListFilter))
    search_fields = ("name", "prefix")
    readonly_fields = ("prefix", "created_at", "created_by", "last_used_at", "revoked_at")
    fields = ("name", "first_party", "scopes", *readonly_fields)
    actions = ["revoke_selected"]

    def has_change_permission(self, request: HttpRequest, obj: ApiKey | None = None) -> bool:
        # A key's powers are fixed at creation; change = revoke and issue a new one.
        return False if obj is not None else super().has_change_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: ApiKey, form, change: bool) -> None:
        if change:
            return
        issued = apikey_create(
            name=obj.name,
            first_party=obj.first_party,
            scopes=obj.scopes or [],
            created_by=request.user,
        )
        obj.pk = issued.api_key.pk
        obj.prefix = issued.api_key.prefix
        self.message_user(
            request,
            f"API key created. Copy it now, it is not shown again: {issued.secret}",
            level=messages.WARNING,
        )

    @admin.action(description="Revoke selected API keys", permissions=["delete"])
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        active = [api_key for api_key in queryset if api_key.revoked_at is None]
        for api_key in active:
            apikey_revoke(api_key=api_key)
        self.message_user(request, f"Revoked {len(active)} key(s).", level=messages.SUCCESS)
