"""Steps the browser tests share inside the sandbox's course page: launching a link into the
tool frame, reading the frame, screenshots, a module's check read from the tool's database,
answering that check, and the designer's catalog search and copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import FrameLocator, Page, expect
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from plugin.competencies.models import Module
from tests.browser.accessibility import assert_no_axe_violations
from tests.support.live_tool import LiveTool

SEEDED_LINK_TITLE = "數位安全基礎"
SEEDED_MODULE = "tw-civil-service-dc.C4-T5"  # the sandbox's first link; pass mark 80 %
LEARNER_NAME = "王小明"
COURSE_TITLE = "數位職能入門（示範課程）"
STEP_MS = 20_000
CHECK_FORM = "form[action='/lti/module/check']"

Answers = list[tuple[int, list[str]]]


def screenshot(page: Page, directory: Path, name: str) -> Path:
    """A full-page PNG of ``page`` as ``directory/name.png``."""
    path = directory / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def tool_frame_url(page: Page) -> str:
    """The URL now shown in the ``tool-frame`` iframe."""
    frame = page.frame(name="tool-frame")
    assert frame is not None, "no frame named tool-frame on the course page"
    return frame.url


def token_in_frame(page: Page) -> str:
    """The launch token of the page now in the tool frame."""
    return parse_qs(urlsplit(tool_frame_url(page)).query)["lt"][0]


def link_ids(page: Page) -> list[str]:
    """The ``data-link-id`` of every launch link on the course page."""
    ids: list[str] = page.locator("a.launch-link").evaluate_all(
        "links => links.map(a => a.dataset.linkId || '')"
    )
    return ids


def launch_and_wait_for_tool(page: Page, link_selector: str, live_tool: LiveTool) -> None:
    """Click a launch link and wait until the tool's home page fills the iframe."""
    link = page.locator(link_selector)
    expect(link).to_have_attribute("target", "tool-frame")
    link.click()
    body = page.frame_locator("#tool-frame").locator("body")
    expect(body).to_contain_text(LEARNER_NAME, timeout=STEP_MS)
    expect(body).to_contain_text(COURSE_TITLE)
    url = tool_frame_url(page)
    assert url.startswith(f"{live_tool.tool_url}/lti/module?lt="), url


def database(live: LiveTool) -> Session:
    """A session on the live tool's own SQLite database (dispose of its bind when done)."""
    return Session(create_engine(f"sqlite:///{live.instance_dir / 'plugin.sqlite3'}"))


@dataclass(frozen=True)
class ModuleCheck:
    """A module's English title, its check's right and wrong answers, its tagged item codes."""

    title_en: str
    right: Answers
    wrong: Answers  # one wrong choice an item
    tagged: set[str]


def check_of(live: LiveTool, key: str) -> ModuleCheck:
    """Module ``key`` of the live tool, read from its database."""
    with database(live) as session:
        module = session.scalars(select(Module).where(Module.key == key)).one()
        check = ModuleCheck(
            title_en=module.title_en,
            right=[
                (item.id, [c["key"] for c in item.choices if c["correct"]])
                for item in module.check_items
            ],
            wrong=[
                (item.id, [c["key"] for c in item.choices if not c["correct"]][:1])
                for item in module.check_items
            ],
            tagged={tag.item.code for tag in module.active_tags},
        )
    session.bind.dispose()  # type: ignore[union-attr]
    return check


def answer_and_send(page: Page, tool: FrameLocator, answers: Answers) -> None:
    """Tick ``answers`` and send the check with the keyboard; the tool answers 200."""
    for item_id, keys in answers:
        for key in keys:
            tool.locator(f"#item_{item_id}_{key}").check()
    submit = tool.locator(f"{CHECK_FORM} button[type=submit]")
    # A plain click at the foot of the long, scrolled frame proved flaky: focus and Enter.
    with page.expect_response(lambda r: r.url.endswith("/lti/module/check")) as answer:
        submit.focus()
        submit.press("Enter")
    assert answer.value.status == 200, answer.value.status


def pass_the_check(page: Page, tool: FrameLocator, right: Answers) -> None:
    """Scroll to the check, send the ``right`` answers, and see the tool say "passed"."""
    tool.locator("#check-title").scroll_into_view_if_needed()
    answer_and_send(page, tool, right)
    expect(tool.locator("section.notice")).to_contain_text("通過", timeout=STEP_MS)


def tool_origin(page: Page) -> str:
    """The origin of the page now in the tool frame."""
    parts = urlsplit(tool_frame_url(page))
    return f"{parts.scheme}://{parts.netloc}"


def search_for(page: Page, tool: FrameLocator, text: str) -> None:
    """Send ``text`` in the tool page's search box and wait for the answer (``q=`` in its URL)."""
    search = tool.locator("input#q")
    expect(search).to_be_visible(timeout=STEP_MS)
    search.fill(text)
    search.press("Enter")
    frame = page.frame(name="tool-frame")
    assert frame is not None
    frame.wait_for_url(lambda url: "q=" in url, timeout=STEP_MS)
    frame.wait_for_load_state("load")


def copy_from_the_picker(page: Page, tool: FrameLocator, key: str) -> str:
    """From the deep-linking picker, copy the national module ``key`` into the designer's
    organisation's catalog and go back to the picker; the copy's key."""
    tool.locator("p.actions a", has_text="單元目錄").click()  # the module catalog
    search_for(page, tool, key)
    copy = tool.locator(f'form[action="/designer/modules/{key}/copy"] button[type=submit]')
    expect(copy).to_be_visible(timeout=STEP_MS)
    assert_no_axe_violations(page, tool_origin(page), "designer-catalog-search")
    copy.click()
    expect(tool.locator("p.notice")).to_contain_text("已複製到貴機關的單元目錄", timeout=STEP_MS)
    path = urlsplit(tool_frame_url(page)).path  # /designer/modules/<copy>/edit
    copied = path.split("/")[3]
    assert copied != key and path.endswith("/edit"), path
    assert_no_axe_violations(page, tool_origin(page), "designer-module-form-copied")
    tool.locator("nav.subnav a", has_text="回到選擇頁").click()  # back to the picker
    expect(tool.locator("#picker-form")).to_be_visible(timeout=STEP_MS)
    return copied
