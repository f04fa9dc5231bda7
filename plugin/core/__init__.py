"""Configuration, database base, errors and logging shared by every package."""
