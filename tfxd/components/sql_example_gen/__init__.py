"""SqlExampleGen: SQL queries or tables → Examples, as parallel range reads (SQLAlchemy)."""
