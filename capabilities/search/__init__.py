"""Search: index documents and query them (ranked full-text search on Postgres)."""
