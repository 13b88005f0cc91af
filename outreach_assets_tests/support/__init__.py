"""Helpers the tests and the benchmarks share; no tests in here.

``clients``: clients, resources and loggers pointed at a sandbox. ``wire``: raw HTTP to a
sandbox. ``resources``: JSON:API resources and conversion cases. ``files``: small pages and
windows for the storage tests. ``dagster_dev``: the environment and processes of a running
``dagster dev``.
"""
