"""Pay periods: calendars, the close checklist, frozen days, adjustments and payroll export."""
