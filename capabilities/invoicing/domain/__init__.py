"""Pure, transport-free rules of invoicing (no Django, no I/O)."""
