"""Every user-facing string has a zh-TW translation, and the template is current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

PROJECT_DIR = Path(__file__).resolve().parents[2]
CATALOG = PROJECT_DIR / "plugin/translations/zh_Hant_TW/LC_MESSAGES/messages.po"


def extracted_ids(tmp_path: Path) -> set[str]:
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [str(Path(sys.executable).parent / "pybabel"), "extract", "-F", "babel.cfg",
         "-o", str(pot), "."],
        cwd=PROJECT_DIR, check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    with pot.open("rb") as handle:
        return {m.id for m in read_po(handle) if m.id}


def test_every_message_in_the_code_has_a_chinese_translation(tmp_path: Path) -> None:
    with CATALOG.open("rb") as handle:
        catalog = read_po(handle)
    translated = {m.id for m in catalog if m.id and m.string and "fuzzy" not in m.flags}
    extracted = extracted_ids(tmp_path)
    assert {"Skip to content", "Only course designers can place activities."} <= extracted
    missing = extracted - translated
    assert not missing, f"add zh-TW translations for: {sorted(missing, key=str)}"
