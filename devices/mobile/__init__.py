"""Phones that punch over MQTT: topics, native payloads, OwnTracks payloads and a simulator."""
