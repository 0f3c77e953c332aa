"""The workforce calendar kept in the store: rosters (shift types, patterns, day entries)."""
