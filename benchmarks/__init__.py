"""Benchmarks: runnable scripts that measure the project, not tests (see README.md)."""
