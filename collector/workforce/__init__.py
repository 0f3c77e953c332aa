"""The workforce calendar kept in the store: leave entries and quotas, rosters (shift types,
patterns, day entries), and their imports."""
