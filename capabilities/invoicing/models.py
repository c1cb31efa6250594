"""Invoices and their lines. Writes go through ``services``; reads through ``selectors``."""

from __future__ import annotations

import uuid

from django.db import models


def new_invoice_id() -> str:
    return f"inv_{uuid.uuid4().hex[:16]}"


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
    SENT = "sent", "Sent"
    REJECTED = "rejected", "Rejected"


class Invoice(models.Model):
    """An invoice to one customer in one currency.

    ``status`` moves ``draft -> awaiting_approval -> sent | rejected``, only through the
    ``invoicing.approval`` durable workflow (its run is ``approval_run_id``).
    """

    invoice_id = models.CharField(
        primary_key=True, max_length=40, default=new_invoice_id, editable=False
    )
    customer = models.CharField(max_length=200)
    email = models.CharField(max_length=254)
    currency = models.CharField(max_length=3)
    status = models.CharField(
        max_length=20, choices=InvoiceStatus.choices, default=InvoiceStatus.DRAFT, db_index=True
    )
    total = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    rejection_reason = models.TextField(blank=True, default="")
    approval_run_id = models.CharField(max_length=128, blank=True, default="")
    #: The search capability's document for this invoice (set by the approval workflow).
    search_document_id = models.BigIntegerField(null=True, blank=True)
    #: When the invoice email left (set in the same transaction as the send step's record).
    emailed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-invoice_id"]
        indexes = [models.Index(fields=["-created_at", "-invoice_id"], name="invoice_newest")]

    def __str__(self) -> str:
        return f"{self.invoice_id} {self.customer} {self.total} {self.currency}"


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField()
    description = models.CharField(max_length=500)
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    amount = models.DecimalField(max_digits=18, decimal_places=2)

    class Meta:
        ordering = ["invoice", "position"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "position"], name="invoice_line_position")
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.description}"
