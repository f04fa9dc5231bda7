"""Hardening tests: fuzzed input, authorization, secrets."""
