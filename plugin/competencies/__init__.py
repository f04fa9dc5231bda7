"""The competency framework, its levels, the module catalog and module tags."""
