"""Benchmarks: each prints a measurement beside a baseline taken in the same run, and the ratio."""
