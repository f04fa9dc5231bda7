"""Launch fixtures for the module pages (the LTI test platform of tests/lti)."""
