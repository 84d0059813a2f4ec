"""Runtimes: the only impure loops (copy, intercept, burn)."""
