"""Request and response schemas: one Create/Update/Public family per entity."""
