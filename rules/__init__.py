"""Pure decisions: geofences, pairing and flexible-time policies; no I/O, no clock."""
