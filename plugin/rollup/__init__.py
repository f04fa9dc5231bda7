"""Roll-up of evidence into competency attainment."""
