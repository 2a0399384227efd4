"""SQL storage: engine and sessions, models, schema and migrations, repositories."""
