"""A fault-injection soak that counts every punch (`make soak`, `python -m soak`)."""
