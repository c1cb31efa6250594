"""Capability apps: one Django app per business capability, each with one contract."""
