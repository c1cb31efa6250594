"""Handlers of the search contract: thin, they parse the context and call services/selectors."""
