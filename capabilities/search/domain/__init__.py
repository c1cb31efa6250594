"""Pure, transport-free rules of search (no Django, no I/O)."""
