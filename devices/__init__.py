"""Device protocols: drivers, wire formats, payload parsers and emulators; no database."""
