"""Every user-facing string has a zh-TW translation, and the template is current."""

from __future__ import annotations

import re
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


# One vocabulary across the catalog and the templates (docs/ARCHITECTURE.md §1 names the
# roles; the organisation's words are the civil service's): 平臺 not 平台, 單元 for a module,
# 官等 for a grade.
WORDS_NOT_USED = {"平台": "平臺", "模組": "單元", "職等": "官等"}
# A half-width colon after Chinese text (not a URL's "://", not a placeholder's "%(x)s:").
HALF_WIDTH_COLON = re.compile(r"[\u3400-\u9fff\uff00-\uffef」）]\s*:(?!//)")


def chinese_texts() -> list[tuple[str, str]]:
    """(where, text) for every zh-TW msgstr and every template line."""
    with CATALOG.open("rb") as handle:
        catalog = read_po(handle)
    found = []
    for message in catalog:
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        found += [(f"msgstr of {message.id!r}", text) for text in strings if text]
    for template in sorted((PROJECT_DIR / "plugin/templates").rglob("*.html")):
        for number, line in enumerate(template.read_text(encoding="utf-8").splitlines(), 1):
            found.append((f"{template.relative_to(PROJECT_DIR)}:{number}", line))
    return found


def test_the_chinese_vocabulary_is_one_across_catalog_and_templates() -> None:
    texts = chinese_texts()
    assert len(texts) > 1000
    for where, text in texts:
        for wrong, right in WORDS_NOT_USED.items():
            assert wrong not in text, f"{where}: {wrong} → {right}"


def test_chinese_labels_end_with_a_full_width_colon() -> None:
    for where, text in chinese_texts():
        assert not HALF_WIDTH_COLON.search(text), f"{where}: {text}"
