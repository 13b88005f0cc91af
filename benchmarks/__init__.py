"""Benchmarks of issue 5 and earlier ones: runnable scripts, not tests (see README.md)."""
