"""Channel tests (a package so helper modules import without name clashes)."""
