"""The runs API: a DRF resource API over runs, steps and timelines (mounted at /api/runs/)."""
