"""The employee's punch app: bound phones, their punches through the phone ingest, their day."""
