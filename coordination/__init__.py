"""Desk-graph coordination workflows and the admin console (arrives after the runtime)."""
