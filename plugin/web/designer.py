"""Designer pages: the module catalog, the module and tag editors, and bulk tagging.

Every page needs a course designer's or an administrator's launch. The launch token (``lt``)
on each link and form is the tool's session inside the LMS iframe and, on a POST, the form's
CSRF token: a POST without a valid one is refused before anything is read or written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, redirect, render_template, request
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response  # redirect()'s declared type

from plugin import app_state
from plugin.competencies.content import MAX_MARKDOWN_CHARS
from plugin.competencies.framework import get_framework, group_items
from plugin.competencies.models import Framework, Item, Level, Module, ModuleTag, Scale
from plugin.competencies.modules import (
    MARKDOWN_FIELDS,
    bulk_tag,
    create_module,
    load_input,
    modules_by_key,
    readable_by,
    search_items,
    search_modules,
    set_module_tags,
    similar_module_tags,
    update_module,
)
from plugin.competencies.schemas import ModuleInput
from plugin.core.errors import Forbidden, InvalidInput, NotFound
from plugin.lti.claims import ADMINISTRATOR, DEEP_LINKING_REQUEST, DESIGNER
from plugin.lti.models import Launch
from plugin.organisations.audience import Audience
from plugin.web.audience import editable_module, launch_audience, refuse_read_only
from plugin.web.lti import current_launch, launch_url_for
from plugin.web.module_form import (
    MAX_CHOICE_SLOTS,
    ChoiceSlot,
    FieldError,
    ModuleForm,
    blank_form,
    bounded,
    by_anchor,
    content_preview,
    field_errors,
    form_from_module,
    form_from_request,
    module_data,
    padded,
    removal_text,
)
from plugin.web.tag_form import name_tag_error, tag_input

blueprint = Blueprint("designer", __name__, url_prefix="/designer")

MAX_LISTED = 50
RETURN_TO_PICKER = "deep-link"


# --- Shared with the deep-linking picker ------------------------------------------------------


def is_designer(launch: Launch) -> bool:
    """True for a course designer's or an administrator's launch."""
    return launch.role in (DESIGNER, ADMINISTRATOR)


def require_framework(session: Session) -> Framework:
    """The loaded framework, or :class:`NotFound` (nothing can be tagged without one)."""
    framework = get_framework(session)
    if framework is None:
        raise NotFound(_("No framework is loaded yet."), field="framework")
    return framework


def report_levels(session: Session, framework: Framework | None) -> dict[int, Level]:
    """The levels of the framework's report scale (基礎 / 中級 / 高級) by number."""
    if framework is None:
        return {}
    levels = session.scalars(
        select(Level)
        .join(Scale, Level.scale_id == Scale.id)
        .where(Scale.framework_id == framework.id, Scale.key == "report")
        .order_by(Level.number)
    )
    return {level.number: level for level in levels}


def picker_return(launch: Launch) -> bool:
    """True when this request came from the deep-linking picker and should go back to it."""
    wanted = request.values.get("return_to", "") == RETURN_TO_PICKER
    return wanted and launch.message_type == DEEP_LINKING_REQUEST


@blueprint.before_request
def _require_designer() -> None:
    # Runs for GET and POST alike: a POST without a valid launch token is a 401 (the token is
    # the form's CSRF token), a learner's launch a 403.
    launch = current_launch()
    if not is_designer(launch):
        raise Forbidden(_("Only course designers can edit the module catalog."))


def audience() -> Audience:
    """The reach of this request's launch (its organisation's modules, the national ones)."""
    launch = current_launch()
    assert launch is not None
    return launch_audience(launch)


def _page(template: str, **context: Any) -> str:
    launch = current_launch()
    return render_template(
        template,
        launch=launch,
        deep_linking=launch.message_type == DEEP_LINKING_REQUEST,
        **context,
    )


# --- Catalog ----------------------------------------------------------------------------------


@blueprint.get("/modules")
def catalog() -> str:
    """The module catalog: search, hours and tags of each module, links to edit and tag."""
    session = app_state.session()
    query = request.args.get("q", "").strip()
    modules = search_modules(session, query, limit=MAX_LISTED + 1, audience=audience())
    return _page(
        "designer/catalog.html",
        active="catalog",
        audience=audience(),
        query=query,
        modules=modules[:MAX_LISTED],
        more=len(modules) > MAX_LISTED,
        levels=report_levels(session, get_framework(session)),
    )


# --- Module editor ----------------------------------------------------------------------------


def _editor(
    form: ModuleForm,
    module: Module | None,
    *,
    errors: list[FieldError] | None = None,
    preview: bool = False,
    saved: bool = False,
) -> str:
    launch = current_launch()
    errors = errors or []
    # The stored module's content, or what was sent for a preview: rendered, cleaned, and
    # what the cleaning removed, so that the designer sees what learners will get.
    cleaned = None
    if preview or (module is not None and not errors):
        cleaned = content_preview(form.values)
        if not any(content.html or content.removed for content in cleaned.values()):
            cleaned = None  # nothing to show in either language
    return _page(
        "designer/module_form.html",
        active="new" if module is None else "",
        form=form,
        module=module,
        errors=errors,
        field_errors=by_anchor(errors),
        preview=cleaned,
        removal_text=removal_text,
        saved=saved,
        return_to=RETURN_TO_PICKER if picker_return(launch) else "",
        max_markdown=MAX_MARKDOWN_CHARS,
        max_choices=MAX_CHOICE_SLOTS,
    )


@blueprint.get("/modules/new")
def new_module() -> str:
    """A blank module form."""
    return _editor(padded(blank_form()), None)


@blueprint.post("/modules/new")
def save_new_module() -> Response | tuple[str, int] | str:
    """Create the module, or show the form again with every refused field marked."""
    return _save(None)


@blueprint.get("/modules/<key>/edit")
def edit_module(key: str) -> str:
    """The module's form, filled in, with its rendered content."""
    module = editable_module(app_state.session(), key, audience())
    return _editor(padded(form_from_module(module)), module, saved="saved" in request.args)


@blueprint.post("/modules/<key>/edit")
def save_module(key: str) -> Response | tuple[str, int] | str:
    """Save the module, or show the form again with every refused field marked."""
    return _save(editable_module(app_state.session(), key, audience()))


def _save(module: Module | None) -> Response | tuple[str, int] | str:
    launch = current_launch()
    session = app_state.session()
    form = form_from_request(request.form)
    action = request.form.get("action", "save")
    if action == "add_item":
        return _editor(padded(form, extra_items=1), module)
    if action.startswith("add_choice-"):
        index = bounded(action.removeprefix("add_choice-"), 0, len(form.items) - 1)
        if form.items and len(form.items[index].choices) < MAX_CHOICE_SLOTS:
            form.items[index].choices.append(ChoiceSlot())
        return _editor(padded(form), module)
    if action == "preview":
        try:
            load_input(
                ModuleInput(only=MARKDOWN_FIELDS), {n: form.values[n] for n in MARKDOWN_FIELDS}
            )
        except InvalidInput as exc:
            return _editor(padded(form), module, errors=field_errors(exc, [])), 400
        return _editor(padded(form), module, preview=True)
    data, slots = module_data(form)
    try:
        if module is None:
            framework = require_framework(session)
            saved = create_module(
                session,
                data,
                framework,
                app_state.settings().framework.iri_base,
                organisation_id=launch.deployment.registration.organisation_id,
            )
        else:
            saved = update_module(session, module, data)
    except InvalidInput as exc:
        session.rollback()  # before the editor reads the module again: nothing half-saved
        return _editor(padded(form), module, errors=field_errors(exc, slots)), 400
    if picker_return(launch):
        return redirect(launch_url_for("lti_pages.deep_link", selected=saved.key), code=303)
    if module is None and not any(c.removed for c in content_preview(form.values).values()):
        return redirect(launch_url_for("designer.tags", key=saved.key, created=1), code=303)
    # Saved, and cleaning removed something: the editor shows what, beside the preview.
    return redirect(launch_url_for("designer.edit_module", key=saved.key, saved=1), code=303)


# --- Tags -------------------------------------------------------------------------------------


@dataclass
class TagRow:
    """One tag as the tag editor shows it."""

    code: str
    level: str
    weight: str
    item: Item | None = None


def _rows_of(module: Module) -> list[TagRow]:
    return [
        TagRow(code=tag.item.code, level=str(tag.level), weight=f"{tag.weight:g}", item=tag.item)
        for tag in module.active_tags
    ]


def _usual_levels(session: Session, item_ids: list[int]) -> dict[int, int]:
    """The level other modules most often tag each item with (the suggestion's default)."""
    if not item_ids:
        return {}
    rows = session.execute(
        select(ModuleTag.item_id, ModuleTag.level, func.count())
        .join(Module, ModuleTag.module_id == Module.id)
        .where(
            ModuleTag.item_id.in_(item_ids),
            ModuleTag.retired_at.is_(None),
            readable_by(audience()),
        )
        .group_by(ModuleTag.item_id, ModuleTag.level)
        .order_by(func.count().desc(), ModuleTag.level)
    )
    usual: dict[int, int] = {}
    for item_id, level, _count in rows:
        usual.setdefault(item_id, level)
    return usual


def _tag_page(
    session: Session,
    module: Module,
    framework: Framework,
    *,
    rows: list[TagRow] | None = None,
    error: InvalidInput | None = None,
    status: int = 200,
) -> tuple[str, int]:
    query = request.values.get("q", "").strip()
    rows = rows if rows is not None else _rows_of(module)
    tagged = {row.code: row for row in _rows_of(module)}
    similar = similar_module_tags(session, module, audience())
    usual = _usual_levels(session, [item.id for item, _count in similar])
    searched = bool(query)
    results = group_items(search_items(session, framework, query)) if searched else []
    html = _page(
        "designer/tags.html",
        module=module,
        rows=rows,
        tagged=tagged,
        levels=report_levels(session, framework),
        query=query,
        searched=searched,
        results=results,
        tree=[] if searched else group_items(search_items(session, framework, "")),
        similar=[(item, count, usual.get(item.id, 1)) for item, count in similar],
        history=[tag for tag in module.tags if tag.retired_at is not None],
        error=error,
        error_code=(error.field or "").split(".")[0] if error else "",
        created="created" in request.args,
        added=request.args.get("added"),
        retired=request.args.get("retired"),
    )
    return html, status


@blueprint.get("/modules/<key>/tags")
def tags(key: str) -> tuple[str, int]:
    """The module's tags, a search of the framework tree and similar modules' tags."""
    session = app_state.session()
    module = editable_module(session, key, audience())
    return _tag_page(session, module, require_framework(session))


@blueprint.post("/modules/<key>/tags")
def save_tags(key: str) -> Response | tuple[str, int]:
    """Add, change or remove tags through the versioned tag service."""
    session = app_state.session()
    module = editable_module(session, key, audience())
    framework = require_framework(session)
    form = request.form
    if form.get("add_item"):
        rows = _rows_of(module)
        added = TagRow(
            form["add_item"].strip(), form.get("add_level", ""), form.get("add_weight", "")
        )
        rows = [row for row in rows if row.code != added.code] + [added]
        shown: list[TagRow] | None = None  # an add that fails leaves the table as stored
    else:
        remove = form.get("remove", "")
        rows = [
            TagRow(
                form.get(f"tag-{i}-item", "").strip(),
                form.get(f"tag-{i}-level", ""),
                form.get(f"tag-{i}-weight", ""),
            )
            for i in range(bounded(form.get("tag_count"), 0, 200))
        ]
        rows = [row for row in rows if row.code and row.code != remove]
        shown = rows
    raw_tags: list[dict[str, Any]] = []
    try:
        raw_tags = [tag_input(row.code, row.level, row.weight) for row in rows]
        change = set_module_tags(session, module, framework, raw_tags)
    except InvalidInput as exc:
        session.rollback()  # before the page reads the module's tags again: none half-set
        if shown is not None:
            items = {item.code: item for item in search_items(session, framework, "")}
            for row in shown:
                row.item = items.get(row.code)
        return _tag_page(
            session, module, framework, rows=shown, error=name_tag_error(exc, raw_tags), status=400
        )
    query = form.get("q", "").strip()
    extra: dict[str, Any] = {"q": query} if query else {}
    target = launch_url_for(
        "designer.tags",
        key=module.key,
        added=len(change.added),
        retired=len(change.retired),
        **extra,
    )
    return redirect(target, code=303)


# --- Bulk tagging -----------------------------------------------------------------------------


def _bulk_page(
    session: Session,
    *,
    chosen: list[str],
    tag: dict[str, str],
    error: InvalidInput | None = None,
    status: int = 200,
) -> tuple[str, int]:
    framework = require_framework(session)
    query = request.values.get("q", "").strip()
    # Only the organisation's own modules take tags; the national catalog is read-only.
    found = search_modules(session, query, limit=MAX_LISTED + 1, audience=audience(), owned=True)
    listed = {module.key for module in found[:MAX_LISTED]}
    # Modules already ticked stay on the page whatever the search shows.
    kept = [
        module
        for key, module in sorted(modules_by_key(session, chosen, audience(), owned=True).items())
        if key not in listed
    ]
    return _page(
        "designer/bulk.html",
        active="bulk",
        query=query,
        modules=kept + found[:MAX_LISTED],
        more=len(found) > MAX_LISTED,
        chosen=set(chosen),
        tag=tag,
        tree=group_items(search_items(session, framework, "")),
        levels=report_levels(session, framework),
        error=error,
        changed=request.args.get("changed"),
        total=request.args.get("total"),
    ), status


@blueprint.get("/tags/bulk")
def bulk() -> tuple[str, int]:
    """Choose modules and one tag to set on all of them."""
    tag = {name: request.args.get(name, "") for name in ("item", "level", "weight")}
    return _bulk_page(app_state.session(), chosen=request.args.getlist("module"), tag=tag)


@blueprint.post("/tags/bulk")
def save_bulk() -> Response | tuple[str, int]:
    """Set the tag on every chosen module (versioned); report how many changed."""
    session = app_state.session()
    keys = list(dict.fromkeys(k for k in request.form.getlist("module") if k))
    tag = {name: request.form.get(name, "").strip() for name in ("item", "level", "weight")}
    try:
        if not keys:
            raise InvalidInput(_("Choose at least one module."), field="module")
        # Another organisation's module is unknown here, as on every designer page.
        modules = modules_by_key(session, keys, audience())
        missing = [key for key in keys if key not in modules]
        if missing:
            raise InvalidInput(_("Unknown module: %(key)s", key=missing[0]), field="module")
        for key in keys:
            refuse_read_only(modules[key], audience())
        raw = tag_input(tag["item"], tag["level"], tag["weight"])
        changed = bulk_tag(session, [modules[key] for key in keys], require_framework(session), raw)
    except InvalidInput as exc:
        session.rollback()  # before the page reads the modules again: none half-tagged
        error = name_tag_error(exc, [{"item": tag["item"]}])
        return _bulk_page(session, chosen=keys, tag=tag, error=error, status=400)
    target = launch_url_for(
        "designer.bulk",
        changed=changed,
        total=len(keys),
        item=tag["item"],
        level=tag["level"],
        weight=tag["weight"],
    )
    return redirect(target, code=303)
