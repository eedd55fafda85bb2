"""SQLite with writers queued in order (see `base.DatabaseWrapper`)."""
