"""axe-core in the browser tests: every tool page they visit is checked, its CSP in force.

axe is the npm package the tool serves itself at ``/vendor/axe-core/axe.min.js``: the helper
adds a ``<script>`` whose ``src`` is that URL on the tool's own origin, so the page's
``script-src 'self'`` allows it and nothing bypasses the policy (any CSP report fails the test,
tests/browser/conftest.py ``page``). Inside the sandbox the tool is a cross-site iframe: axe runs
in the tool's frame, never in the sandbox's page (the sandbox is not the product).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from playwright.sync_api import Frame, Page

from tests.support.chromium import ARTIFACTS_DIR

AXE_PATH = "/vendor/axe-core/axe.min.js"
# WCAG 2.0 and 2.1, levels A and AA, plus axe's best practices.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
TOOL_FRAME = "tool-frame"
AXE_TIMEOUT_MS = 30_000

# Loads axe once per document from the given URL with a <script src>, as the page's own
# scripts are loaded, and resolves when it is ready (or rejects with why it could not load).
_LOAD_AXE = """(src) => new Promise((resolve, reject) => {
  if (window.axe) { resolve(true); return; }
  const script = document.createElement("script");
  script.src = src;
  script.onload = () => resolve(true);
  script.onerror = () => reject(new Error("axe-core did not load from " + src));
  document.head.appendChild(script);
})"""

# Runs axe on the whole document. Violations fail the test; "incomplete" (what axe could not
# decide, e.g. contrast over a gradient) goes to the page's artifact for a person to review.
# iframes: false — a tool page's only frames are module content from elsewhere, not the tool.
_RUN_AXE = """(tags) => window.axe.run(document, {
  runOnly: { type: "tag", values: tags }, iframes: false,
  resultTypes: ["violations", "incomplete"],
}).then((results) => {
  const brief = (rules) => rules.map((r) => ({
    id: r.id, impact: r.impact, help: r.help,
    targets: r.nodes.map((n) => n.target.join(" ")),
    why: [...new Set(r.nodes.flatMap((n) => [...n.any, ...n.all, ...n.none])
      .map((c) => c.message))],
  }));
  return { violations: brief(results.violations), incomplete: brief(results.incomplete) };
})"""


def tool_frame(target: Page | Frame) -> Frame:
    """The frame that shows the tool: the sandbox's ``tool-frame`` iframe, or the page itself."""
    if isinstance(target, Frame):
        return target
    framed = target.frame(name=TOOL_FRAME)
    return framed if framed is not None else target.main_frame


def axe_results(target: Page | Frame, tool_url: str) -> dict[str, list[dict[str, Any]]]:
    """Run axe-core, served by the tool, on the tool's document in ``target``.

    The answer holds ``violations`` and ``incomplete``: each rule's id, impact, help text, the
    selectors of the elements it concerns and axe's reasons (``why``).
    """
    frame = tool_frame(target)
    assert frame.url.startswith(f"{tool_url}/"), f"not a tool page: {frame.url}"
    frame.wait_for_load_state("load")
    frame.evaluate(_LOAD_AXE, f"{tool_url}{AXE_PATH}")
    results: dict[str, list[dict[str, Any]]] = frame.evaluate(_RUN_AXE, AXE_TAGS)
    return results


def axe_violations(target: Page | Frame, tool_url: str) -> list[dict[str, Any]]:
    """The axe-core violations on the tool's document in ``target``."""
    return axe_results(target, tool_url)["violations"]


def describe(violations: list[dict[str, Any]]) -> str:
    """One line per violation: rule id, impact, the elements it found, and axe's help text."""
    return "\n".join(
        f"  {v['id']} ({v['impact']}) at {', '.join(v['targets'])}: {v['help']}" for v in violations
    )


def assert_no_axe_violations(target: Page | Frame, tool_url: str, name: str) -> None:
    """Fail listing every axe violation on the tool page shown in ``target``.

    ``name`` names the page kind in the failure and in ``test-artifacts/browser/axe-<name>.json``.
    """
    frame = tool_frame(target)
    results = axe_results(frame, tool_url)
    violations = results["violations"]
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    record = {"page": name, "url": frame.url, **results}
    path: Path = ARTIFACTS_DIR / f"axe-{name}.json"
    path.write_text(json.dumps(record, indent=2, ensure_ascii=False), encoding="utf-8")
    assert not violations, (
        f"axe-core found {len(violations)} violation(s) on {name} ({frame.url}):\n"
        + describe(violations)
    )
