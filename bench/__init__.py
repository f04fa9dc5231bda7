"""Benchmarks: scripts that print numbers, and the load driver the load test shares."""
