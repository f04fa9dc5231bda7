"""Debian's Chromium for the browser tests: its flags and cookie preferences, installed with
apt-get where missing, launched through Playwright on a fresh profile.

Without Chromium (and no way to install it) the browser tests are skipped with the reason
shown, except under ``CI=true``, where that is a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, NoReturn

import pytest
from playwright.sync_api import BrowserContext, Playwright
from playwright.sync_api import Error as PlaywrightError

PROJECT_DIR = Path(__file__).resolve().parents[2]
ARTIFACTS_DIR = PROJECT_DIR / "test-artifacts" / "browser"
CHROMIUM = Path("/usr/bin/chromium")
# The flags every browser test runs with. Playwright adds its own automation switches
# (--remote-debugging-pipe, --user-data-dir, …); nothing here loosens cookie rules.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Third-party cookies are blocked by the profile's own setting, exactly what a person sets at
# chrome://settings/cookies ("Block third-party cookies"): cookie_controls_mode 1 is
# kBlockThirdParty (0 allows them, 2 blocks them in Incognito only).
# block_third_party_cookies is the older name of the same preference, kept for older builds.
# Written before launch into the fresh profile of a persistent context; Chromium reports a
# cookie refused this way with the blocked reason "UserPreferences". Debian's Chromium 156
# happens to block them already in a fresh profile and in Playwright's off-the-record
# new_context(), but defaults differ between builds and versions (Chrome's allows them), so
# the setting is explicit, and a test shows that mode 0 lets the same cookie through.
BLOCK_THIRD_PARTY_PREFS = {
    "profile": {"cookie_controls_mode": 1, "block_third_party_cookies": True}
}
ALLOW_THIRD_PARTY_PREFS = {
    "profile": {"cookie_controls_mode": 0, "block_third_party_cookies": False}
}
VIEWPORT = {"width": 1280, "height": 900}
PHONE_VIEWPORT = {"width": 390, "height": 844}
APT_TIMEOUT_SECONDS = 900
# A small Debian font with Traditional Chinese glyphs, for legible screenshots.
CJK_FONT_PACKAGE = "fonts-wqy-microhei"


def unavailable(reason: str) -> NoReturn:
    """Skip with ``reason``, or fail under ``CI=true`` where the browser must be there."""
    if os.environ.get("CI") == "true":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def apt_get(*commands: list[str]) -> str:
    """Run apt-get commands in turn as root; an empty string, or why one failed."""
    if shutil.which("apt-get") is None:
        return "apt-get is not available on this machine"
    if os.geteuid() != 0:
        return "apt-get needs root"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in commands:
        try:
            result = subprocess.run(
                command,
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=APT_TIMEOUT_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return f"`{' '.join(command)}` did not finish in {APT_TIMEOUT_SECONDS} s"
        if result.returncode != 0:
            output = (result.stderr or result.stdout).strip().splitlines()[-5:]
            return f"`{' '.join(command)}` exited {result.returncode}: " + " | ".join(output)
    return ""


def install_chromium() -> str:
    """Install Debian's ``chromium`` with apt-get; an empty string, or why it failed."""
    problem = apt_get(["apt-get", "update"], ["apt-get", "install", "-y", "chromium"])
    if problem:
        return f"{problem} (as root: apt-get update && apt-get install -y chromium)"
    if not CHROMIUM.exists():
        return f"apt-get installed chromium but {CHROMIUM} is still missing"
    return ""


def has_cjk_font() -> bool:
    """True when fontconfig knows a font for Traditional Chinese."""
    if shutil.which("fc-list") is None:
        return False
    result = subprocess.run(
        ["fc-list", ":lang=zh-tw", "family"], capture_output=True, text=True, check=False
    )
    return bool(result.stdout.strip())


def ensure_cjk_font() -> None:
    """Best effort: a CJK font, so zh-TW text in screenshots is legible (not boxes).

    Only the pictures need it (the tests read the DOM), so a failed install changes no result.
    """
    if has_cjk_font():
        return
    install = ["apt-get", "install", "-y", "--no-install-recommends", CJK_FONT_PACKAGE]
    if apt_get(install):
        apt_get(["apt-get", "update"], install)


def write_profile(user_data_dir: Path, preferences: dict[str, Any]) -> None:
    """Write ``preferences`` as the Default profile's Preferences of a new user data dir."""
    profile = user_data_dir / "Default"
    profile.mkdir(parents=True, exist_ok=True)
    (profile / "Preferences").write_text(json.dumps(preferences), encoding="utf-8")


def launch_chromium(
    driver: Playwright, executable: Path, user_data_dir: Path, preferences: dict[str, Any]
) -> BrowserContext:
    """Chromium on a fresh profile holding ``preferences``, as a persistent context."""
    write_profile(user_data_dir, preferences)
    try:
        return driver.chromium.launch_persistent_context(
            str(user_data_dir),
            executable_path=str(executable),
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport=VIEWPORT,
            locale="zh-TW",
        )
    except PlaywrightError as exc:
        unavailable(f"Chromium at {executable} did not start: {exc.message.splitlines()[0]}")
