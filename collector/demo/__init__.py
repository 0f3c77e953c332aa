"""`punchgate demo`: the whole service on embedded defaults with generated traffic."""
