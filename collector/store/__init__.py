"""The punch store: models, engine, and the one idempotent ingest."""
