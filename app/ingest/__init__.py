"""Getting customer data in: importers and the demo data."""
