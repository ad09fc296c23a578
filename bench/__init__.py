"""Benchmarks of wedata-mcp (run with `python -m bench`; see bench/README.md)."""
