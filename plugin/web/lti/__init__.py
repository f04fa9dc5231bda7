"""The tool's LTI side in the browser: protocol endpoints (launch.py), the pages a launch lands
on (pages.py), and the launch a request belongs to (context.py), which every view reads."""

from __future__ import annotations

from plugin.web.lti.context import (
    TOKEN_PARAM,
    current_launch,
    launch_url_for,
    token_for,
)

__all__ = [
    "TOKEN_PARAM",
    "current_launch",
    "launch_url_for",
    "token_for",
]
