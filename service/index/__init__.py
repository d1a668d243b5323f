"""The index version on disk, where build and serve meet: its layout, schema, records, model and array readers."""
