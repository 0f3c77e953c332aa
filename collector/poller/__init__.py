"""The terminal poller: reads ZK terminals concurrently and keeps their status in the store."""
