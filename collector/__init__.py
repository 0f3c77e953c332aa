"""Gathers and keeps punches: settings, the store, normalisation, pollers, the CLI."""
