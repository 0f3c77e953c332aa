"""HR reports: SQL aggregations over attendance days and punches, returned as row streams."""
