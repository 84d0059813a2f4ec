"""Intercept channel (pure codec): messages between copy/burn and intercept."""
