"""Outbound: the outbox, its delivery worker, Standard Webhooks and the ERP connectors."""
