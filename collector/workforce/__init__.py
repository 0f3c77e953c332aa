"""The workforce calendar's storage: leave entries, yearly quotas, and their import."""
