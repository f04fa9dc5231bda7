"""Every refusal plugin/content/ raises is told in the page's language, not only in English."""

from __future__ import annotations

import re
from pathlib import Path

from plugin.web.designer_content_messages import MESSAGES

CONTENT = Path(__file__).resolve().parents[2] / "plugin" / "content"


def test_every_refusal_code_has_a_translated_message() -> None:
    source = "\n".join(path.read_text(encoding="utf-8") for path in CONTENT.glob("*.py"))
    codes = set(re.findall(r'PackageRefused\(\s*"([a-z_]+)"', source))

    assert len(codes) >= 20
    assert codes <= set(MESSAGES), sorted(codes - set(MESSAGES))
