"""Launch fixtures for the module pages (the LTI test platform of tests/lti)."""

from tests.lti.conftest import flow, platform, tool  # noqa: F401 (fixtures)
