"""Fixtures: the LTI test platform (tests/lti) and the session's Ralph (tests/xapi)."""

from tests.lti.conftest import flow, platform, tool  # noqa: F401 (fixtures)
from tests.xapi.conftest import ralph, running_ralph  # noqa: F401 (fixtures)
