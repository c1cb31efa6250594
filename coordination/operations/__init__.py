"""Handlers of the coordination contract: thin, they call services and selectors."""
