"""ZKTeco-protocol terminals (TCP/UDP 4370): wire format, record parsers, pyzk driver, emulator."""
