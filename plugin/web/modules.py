"""What a resource-link launch opens: the placed module, or the binding of an unplaced link."""

from __future__ import annotations

from flask import Blueprint, Response, redirect, render_template, request
from flask_babel import gettext as _
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse  # redirect()'s declared type

from plugin import app_state
from plugin.attainment import record_module_evidence
from plugin.competencies.grading import CheckResult, grade_check
from plugin.competencies.models import SCORM_KIND, Module, Placement
from plugin.competencies.modules import (
    bind_placement,
    find_module,
    find_placement,
    search_modules,
)
from plugin.core.errors import Forbidden, InvalidInput, NotFound
from plugin.lti.claims import (
    ADMINISTRATOR,
    CLAIM_CUSTOM,
    CLAIM_LAUNCH_PRESENTATION,
    DESIGNER,
    RESOURCE_LINK_REQUEST,
)
from plugin.lti.grade_outbox import grades_offered
from plugin.lti.models import Launch
from plugin.web.audience import launch_audience, readable_module
from plugin.web.inputs import parse_int
from plugin.web.learning import begin_attempt, learner_context, xapi_options
from plugin.web.lti import current_launch, launch_url_for
from plugin.web.module_grades import queue_grade
from plugin.web.player import open_player
from plugin.web.security import allow_frame_source
from plugin.xapi.attempts import (
    StaleForm,
    initialize,
    record_check,
    record_completion,
    record_progress,
)
from plugin.xapi.learning import (
    attempt_of_form,
    check_outcome,
    current_attempt,
    latest_attempt,
    records_statements,
)
from plugin.xapi.models import Attempt

blueprint = Blueprint("modules", __name__)
MODULE_KEY_PARAM = "module_key"  # the custom parameter deep linking puts on each link
ATTEMPT_FIELD = "attempt"  # the registration a check or completion form was shown for


@blueprint.after_request
def _not_stored(response: Response) -> Response:
    # Every page here holds a form bound to one attempt, or answers one: Back and history
    # must ask the tool again (RFC 9111 §5.2.2.5), never show a stale live form from the cache.
    response.headers["Cache-Control"] = "no-store"
    return response


def _link_identity(launch: Launch) -> dict[str, str]:
    return {
        "issuer": launch.deployment.registration.issuer,
        "deployment_id": launch.deployment.deployment_id,
        "resource_link_id": launch.resource_link_id,
    }


def place_launch(session: Session, launch: Launch) -> Placement | None:
    """The module placement of a resource-link launch, bound on first sight of a link that
    deep linking made (its ``module_key`` custom parameter names the module).

    A new link binds only to a module the launch's organisation may place (its own or the
    national catalog's): a ``module_key`` of another organisation's module leaves the link
    unbound, as an unknown key does. A link bound before keeps its module.
    """
    if launch.message_type != RESOURCE_LINK_REQUEST or not launch.resource_link_id:
        return None
    placement = find_placement(session, **_link_identity(launch))
    if placement is not None:
        return placement
    custom = launch.claims.get(CLAIM_CUSTOM) or {}
    key = custom.get(MODULE_KEY_PARAM) if isinstance(custom, dict) else None
    if not isinstance(key, str) or not key:
        return None
    try:
        module = find_module(session, key, launch_audience(launch))
    except NotFound:
        return None
    return bind_placement(
        session, context_id=launch.context_id, module=module, **_link_identity(launch)
    )


def _is_designer(launch: Launch) -> bool:
    return launch.role in (DESIGNER, ADMINISTRATOR)


def _placed_module(launch: Launch) -> Module | None:
    placement = find_placement(app_state.session(), **_link_identity(launch))
    return placement.module if placement is not None else None


def _module_or_404(launch: Launch) -> Module:
    """The module placed on the launch's link, or :class:`NotFound` for a link without one."""
    module = _placed_module(launch)
    if module is None:
        raise NotFound(_("This activity has no module yet."), field="module")
    return module


def _return_url(launch: Launch) -> str:
    presentation = launch.claims.get(CLAIM_LAUNCH_PRESENTATION) or {}
    url = presentation.get("return_url", "") if isinstance(presentation, dict) else ""
    # Only web URLs become a link: a "javascript:" return_url would run in our origin.
    return url if isinstance(url, str) and url.lower().startswith(("https:", "http:")) else ""


def _module_page(launch: Launch, module: Module, **extra: object) -> str:
    latest = latest_attempt(app_state.session(), launch, module)
    embed = (
        module.external_display == "embed"
        and bool(module.external_url)
        and allow_frame_source(module.external_url)
    )
    return render_template(
        "modules/module.html",
        launch=launch,
        module=module,
        designer=_is_designer(launch),
        editable=launch_audience(launch).owns(module.organisation_id),
        return_url=_return_url(launch),
        grades=grades_offered(launch),
        attempt=latest if latest is not None and latest.is_open else None,
        # The latest attempt has ended: its result and the way on replace the live form.
        ended=latest if latest is not None and not latest.is_open else None,
        embed=embed,
        **extra,
    )


@blueprint.get("/lti/module")
def module_page() -> BaseResponse | str:
    """The module a learner launched: content, external resource, knowledge check."""
    launch = current_launch()
    module = _placed_module(launch)
    if module is None:
        return redirect(launch_url_for("modules.unbound"), code=303)
    if module.kind == SCORM_KIND and not _is_designer(launch):
        # Staff keep the module page and its staff bar (the package page); learners play it.
        return open_player(launch, module)
    session = app_state.session()
    if latest_attempt(session, launch, module) is None:
        # Launched before the link had its module (a designer bound it since): the first
        # attempt starts now. None for previews.
        begin_attempt(session, launch, module)
    attempt = current_attempt(session, launch, module)
    if attempt is not None and attempt.initialized_at is None:
        # cmi5 §9.3.2: initialized when the learner first has the module in front of them.
        initialize(session, attempt, learner_context(launch, module), xapi_options(launch))
    return _module_page(launch, module)


@blueprint.post("/lti/module/progress")
def progress() -> Response:
    """How far the learner has read (0–100), reported by the page as they scroll."""
    launch = current_launch()
    module = _placed_module(launch)
    percent = parse_int(request.form.get("percent", ""), "percent", minimum=0, maximum=100)
    session = app_state.session()
    attempt = current_attempt(session, launch, module) if module is not None else None
    if attempt is not None and module is not None:
        record_progress(
            session, attempt, learner_context(launch, module), percent, xapi_options(launch)
        )
    return Response(status=204)


@blueprint.post("/lti/module/retry")
def retry() -> BaseResponse:
    """Start a new attempt (a new registration) after a finished one."""
    launch = current_launch()
    module = _module_or_404(launch)
    session = app_state.session()
    if current_attempt(session, launch, module) is None:
        begin_attempt(session, launch, module)
    return redirect(launch_url_for("modules.module_page"), code=303)


@blueprint.get("/lti/unbound")
def unbound() -> str:
    """A link without a module: designers pick one, learners are told it is not ready."""
    launch = current_launch()
    if not _is_designer(launch):
        return render_template(
            "modules/not_ready.html", launch=launch, return_url=_return_url(launch)
        )
    query = request.args.get("q", "")
    return render_template(
        "modules/bind.html",
        launch=launch,
        modules=search_modules(app_state.session(), query, audience=launch_audience(launch)),
        query=query,
        return_url=_return_url(launch),
    )


@blueprint.post("/lti/bind")
def bind() -> BaseResponse:
    """Bind this resource link to the module a designer chose."""
    launch = current_launch()
    if not _is_designer(launch):
        raise Forbidden(_("Only course designers can choose the module of an activity."))
    session = app_state.session()
    # The organisation's modules and the national catalog; another organisation's is unknown.
    module = readable_module(session, request.form.get("module", ""), launch_audience(launch))
    bind_placement(session, context_id=launch.context_id, module=module, **_link_identity(launch))
    return redirect(launch_url_for("modules.module_page"), code=303)


def _answers(module: Module) -> dict[int, frozenset[str]]:
    return {
        item.id: frozenset(request.form.getlist(f"item_{item.id}")) for item in module.check_items
    }


@blueprint.post("/lti/module/check")
def submit_check() -> Response | str:
    """Score the knowledge check and queue the grade for the platform, in one transaction."""
    launch = current_launch()
    module = _module_or_404(launch)
    session = app_state.session()
    try:
        attempt = _form_attempt(session, launch, module)
    except StaleForm as exc:
        return _stale_page(launch, module, exc)
    try:
        result = grade_check(module, _answers(module))
    except InvalidInput as exc:
        response = Response(_module_page(launch, module, error=exc, chosen=_answers(module)))
        response.status_code = exc.status
        return response
    if attempt is not None:
        # One transaction: the statements, the attempt's new state, the evidence with its
        # roll-up, and the grade.
        emitted = record_check(
            session, attempt, learner_context(launch, module), check_outcome(result),
            xapi_options(launch),
        )  # fmt: skip
        record_module_evidence(
            session, launch, module, emitted, result.scaled, app_state.settings()
        )
        queue_grade(session, launch, module, result.scaled)
    return _result_page(launch, module, result)


@blueprint.post("/lti/module/complete")
def complete() -> Response | str:
    """Mark a module without a knowledge check as finished."""
    launch = current_launch()
    module = _module_or_404(launch)
    if module.check_items:
        raise InvalidInput(_("Answer the knowledge check to finish this module."), field="answers")
    session = app_state.session()
    try:
        attempt = _form_attempt(session, launch, module)
    except StaleForm as exc:
        return _stale_page(launch, module, exc)
    if attempt is not None:
        emitted = record_completion(
            session, attempt, learner_context(launch, module), xapi_options(launch)
        )
        record_module_evidence(session, launch, module, emitted, None, app_state.settings())
        queue_grade(session, launch, module, 1.0)
    return _result_page(launch, module, CheckResult(scaled=1.0, passed=None))


def _result_page(launch: Launch, module: Module, result: CheckResult) -> str:
    """The page after a check or a completion: the result and the way back to the platform."""
    return render_template(
        "modules/result.html",
        launch=launch,
        module=module,
        result=result,
        return_url=_return_url(launch),
        grades=grades_offered(launch),
    )


def _form_attempt(session: Session, launch: Launch, module: Module) -> Attempt | None:
    """The open attempt the sent form was shown for; None for previews (no statements)."""
    if not records_statements(launch):
        return None
    return attempt_of_form(session, launch, module, request.form.get(ATTEMPT_FIELD, ""))


def _stale_page(launch: Launch, module: Module, stale: StaleForm) -> Response:
    """What a form sent for an ended or replaced attempt meets: why, and the way on (409)."""
    latest = stale.latest
    response = Response(
        render_template(
            "modules/stale.html",
            launch=launch,
            module=module,
            reason=stale.reason,
            # Another try is offered where the module page would offer it: after a failure.
            can_retry=latest is not None and not latest.is_open and latest.outcome == "failed",
            return_url=_return_url(launch),
        )
    )
    response.status_code = stale.status
    return response
