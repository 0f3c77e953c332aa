"""ZKTeco BioTime / ZKBio servers (the REST API in front of the terminals)."""
