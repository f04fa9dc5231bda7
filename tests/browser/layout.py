"""Layout checks any browser test can call: a page fits a phone's width.

``assert_no_sideways_scroll(page)`` fails when the document is wider than the viewport, naming
the elements that stick out; content inside a ``.table-scroll`` box scrolls in that box, not the
page, and such a box, when it does overflow, must be reachable by keyboard, named, and show its
"scroll sideways" hint.
"""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page

# A small Android phone (360 × 740 CSS pixels), the narrowest width the tool promises to fit.
PHONE_360 = {"width": 360, "height": 740}

# Reads the page's width and lists what sticks out of it, and every scroll box that overflows.
_MEASURE = """() => {
  const width = document.documentElement.clientWidth;
  const describe = (el) => {
    let text = el.tagName.toLowerCase();
    if (el.id) text += '#' + el.id;
    if (el.classList.length) text += '.' + [...el.classList].join('.');
    return text + ' (' + Math.round(el.getBoundingClientRect().right) + 'px)';
  };
  const offenders = [];
  for (const el of document.body.querySelectorAll('*')) {
    if (el.closest('.table-scroll')) continue;
    const box = el.getBoundingClientRect();
    if (box.width > 0 && box.right > width + 0.5) offenders.push(describe(el));
  }
  const boxes = [...document.querySelectorAll('.table-scroll')]
    .filter((el) => el.scrollWidth > el.clientWidth + 1)
    .map((el) => {
      const frame = el.closest('.scroll-box');
      const hint = frame && frame.querySelector('.scroll-box__hint');
      const shown = hint && hint.getClientRects().length > 0
        && getComputedStyle(hint).visibility !== 'hidden';
      return {
        what: describe(el),
        tabindex: el.getAttribute('tabindex'),
        named: Boolean(el.getAttribute('aria-label') || el.getAttribute('aria-labelledby')),
        hint: Boolean(shown),
      };
    });
  // Anything else that scrolls sideways inside the page hides content without a cue.
  const hidden = [...document.body.querySelectorAll('*')]
    .filter((el) => !el.classList.contains('table-scroll')
      && ['auto', 'scroll'].includes(getComputedStyle(el).overflowX)
      && el.scrollWidth > el.clientWidth + 1)
    .map(describe);
  return {scrollWidth: document.documentElement.scrollWidth, width, offenders, boxes, hidden};
}"""


def measure_width(page: Page) -> dict[str, Any]:
    """The page's scroll width, its viewport width, what sticks out and the overflowing boxes."""
    result: dict[str, Any] = page.evaluate(_MEASURE)
    return result


def assert_no_sideways_scroll(page: Page, what: str = "") -> None:
    """Fail unless ``page`` fits its viewport's width, tables in their own scroll box excepted.

    Nothing else may scroll sideways inside the page either (an ``overflow-x: auto`` element
    without the box's cue hides content as surely as the page would).
    A ``.table-scroll`` box that overflows must be focusable (tabindex 0, so a keyboard can
    scroll it), carry a name (aria-label or aria-labelledby) and show its hint.
    """
    found = measure_width(page)
    label = what or page.url
    assert found["scrollWidth"] <= found["width"], (
        f"{label} scrolls sideways: {found['scrollWidth']} px of content in "
        f"{found['width']} px; sticking out: {found['offenders'][:8]}"
    )
    assert not found["hidden"], (
        f"{label}: scrolls sideways outside a .table-scroll box: {found['hidden']}"
    )
    for box in found["boxes"]:
        assert box["tabindex"] == "0", f"{label}: scroll box {box['what']} is not focusable"
        assert box["named"], f"{label}: scroll box {box['what']} has no accessible name"
        assert box["hint"], f"{label}: scroll box {box['what']} overflows with no visible hint"
