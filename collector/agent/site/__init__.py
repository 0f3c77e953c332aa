"""The site agent itself: reads the office's terminals into a local buffer and forwards it.

Kept light for a small box (a Raspberry Pi with ~100 MB for it): nothing here imports the
store, SQLAlchemy, the API or the metrics; the buffer is the standard library's sqlite3.
It builds its punches with `collector.poller.punches`, as the central poller does.
"""
