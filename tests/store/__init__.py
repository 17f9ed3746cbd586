"""Store tests: SQLite always, PostgreSQL when JOURNEY_STUDIO_TEST_POSTGRES_URL is set."""
