"""Tests of the competency roll-up."""
