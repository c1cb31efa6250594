"""Invoices in the console (the "Capabilities" group): read-only records.

Status changes belong to the approval workflow (decide in the approvals inbox), so the
admin shows invoices and their lines but edits nothing.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.utils import quote
from django.urls import reverse
from django.utils.html import format_html

from capabilities.invoicing.models import Invoice, InvoiceLine


class InvoiceLineInline(admin.TabularInline):
    model = InvoiceLine
    fields = ("position", "description", "quantity", "unit_price", "amount")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_view_permission(self, request, obj=None) -> bool:
        # Lines are part of the invoice: whoever may view invoices sees them.
        return request.user.has_perm("invoicing.view_invoice")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    list_display = ("invoice_id", "customer", "total", "currency", "status", "created_at")
    list_filter = ("status", "currency")
    search_fields = ("invoice_id", "customer", "email")
    date_hierarchy = "created_at"
    inlines = [InvoiceLineInline]
    fields = (
        "invoice_id",
        "customer",
        "email",
        "currency",
        "total",
        "status",
        "rejection_reason",
        "approval_run",
        "decided_by",
        "search_document_id",
        "emailed_at",
        "sent_at",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields

    @admin.display(description="Approval run")
    def approval_run(self, obj: Invoice) -> str:
        if not obj.approval_run_id:
            return "-"
        url = reverse("admin:workflows_run_change", args=[quote(obj.approval_run_id)])
        return format_html('<a href="{}">{}</a>', url, obj.approval_run_id)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
