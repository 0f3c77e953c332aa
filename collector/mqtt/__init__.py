"""The MQTT side of the collector: phone punches in, receipts out, and an embedded broker."""
