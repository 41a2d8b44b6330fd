"""The database: engine from a URL, tables, and the SQL for bulk work and aggregates."""
