"""Hikvision ISAPI access-control terminals (DS-K1T…): events, client and emulator."""
