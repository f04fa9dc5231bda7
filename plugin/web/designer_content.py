"""Designer pages of SCORM packages: upload a .zip as a new module or as a new version of a
module, see each version's SCOs and mastery score and the learners' attempts, download the
original zip.

Like every designer page these need a course designer's or an administrator's launch; a module
of another organisation is "no such module" (404) and the national catalog's is read-only.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Blueprint, redirect, render_template, request, send_file
from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response  # redirect()'s declared type

from plugin import app_state
from plugin.competencies.models import Module
from plugin.content.errors import PackageRefused
from plugin.content.services import (
    find_version,
    import_as_new_module,
    import_package,
    limits_for,
    package_versions,
    storage_for,
)
from plugin.core.errors import Forbidden, InvalidInput, NotFound
from plugin.web.audience import editable_module, launch_audience, readable_module
from plugin.web.designer import is_designer, require_framework
from plugin.web.designer_content_messages import refusal_message
from plugin.web.errors import error_response
from plugin.web.lti import current_launch, launch_url_for
from plugin.web.package_attempts import module_attempts

blueprint = Blueprint("designer_content", __name__, url_prefix="/designer")

FIELD = "package"
UPLOAD_ENDPOINTS = frozenset({"designer_content.upload", "designer_content.upload_new"})


@blueprint.url_value_preprocessor
def _allow_package_uploads(endpoint: str | None, _values: dict[str, Any] | None) -> None:
    # Runs before every before_request hook, the first of which reads the form for its launch
    # token: a package upload may be larger than the app-wide bound on request bodies.
    if endpoint in UPLOAD_ENDPOINTS:
        request.max_content_length = app_state.settings().content.max_upload_bytes


@blueprint.before_request
def _require_designer() -> None:
    launch = current_launch()
    if not is_designer(launch):
        raise Forbidden(_("Only course designers can edit the module catalog."))


def _page(module: Module | None, *, error: str = "", status: int = 200) -> tuple[str, int]:
    launch = current_launch()
    session = app_state.session()
    audience = launch_audience(launch)
    return render_template(
        "designer_content/package.html",
        launch=launch,
        module=module,
        versions=package_versions(session, module) if module is not None else [],
        attempts=module_attempts(session, audience, module) if module is not None else [],
        show_attempts=module is not None and audience.owns(module.organisation_id),
        editable=module is None or audience.owns(module.organisation_id),
        error=error,
        anchor=FIELD if error else "",
        max_upload_mb=app_state.settings().content.max_upload_bytes // (1024 * 1024),
        uploaded=request.args.get("uploaded", ""),
        created="created" in request.args,
        active="package" if module is None else "",
    ), status


@blueprint.get("/modules/<key>/package")
def package(key: str) -> tuple[str, int]:
    """The module's package versions with their SCOs, and the form to upload a new one."""
    module = readable_module(app_state.session(), key, launch_audience(current_launch()))
    return _page(module)


@blueprint.post("/modules/<key>/package")
def upload(key: str) -> Response | tuple[str, int]:
    """Store the uploaded zip as the module's next package version."""
    session = app_state.session()
    module = editable_module(session, key, launch_audience(current_launch()))
    settings = app_state.settings().content
    try:
        with _uploaded_zip() as (path, name):
            version = import_package(
                session, storage_for(settings), limits_for(settings), module, path, name
            )
    except InvalidInput as exc:
        session.rollback()  # before the page reads the versions again: nothing half-stored
        return _page(module, error=_message(exc), status=400)
    target = launch_url_for("designer_content.package", key=key, uploaded=version.number)
    return redirect(target, code=303)


@blueprint.get("/packages/new")
def new() -> tuple[str, int]:
    """The form that makes a new module from a package."""
    return _page(None)


@blueprint.post("/packages/new")
def upload_new() -> Response | tuple[str, int]:
    """Create a module titled from the package's manifest, with the package as version 1."""
    launch = current_launch()
    session = app_state.session()
    settings = app_state.settings()
    try:
        with _uploaded_zip() as (path, name):
            version = import_as_new_module(
                session,
                storage_for(settings.content),
                limits_for(settings.content),
                path,
                name,
                framework=require_framework(session),
                iri_base=settings.framework.iri_base,
                organisation_id=launch.deployment.registration.organisation_id,
            )
    except InvalidInput as exc:
        session.rollback()  # the module made for the package goes with it
        return _page(None, error=_message(exc), status=400)
    target = launch_url_for("designer_content.package", key=version.module.key, created=1)
    return redirect(target, code=303)


@blueprint.get("/modules/<key>/package/<int:number>/original.zip")
def original(key: str, number: int) -> Response:
    """The zip as it was uploaded, for the designer to keep or move elsewhere."""
    session = app_state.session()
    module = readable_module(session, key, launch_audience(current_launch()))
    version = find_version(session, module, number)
    path = None
    if version is not None:
        path = storage_for(app_state.settings().content).original_path(version.storage_key)
    if version is None or path is None:
        raise NotFound(_("No such package version: %(number)s", number=number), field=FIELD)
    name = version.original_name or f"{module.key}-v{number}.zip"
    response = send_file(path, mimetype="application/zip", as_attachment=True, download_name=name)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@contextmanager
def _uploaded_zip() -> Iterator[tuple[Path, str]]:
    """The request's ``package`` file saved to a temporary path, removed afterwards."""
    upload = request.files.get(FIELD)
    if not isinstance(upload, FileStorage) or not upload.filename:
        raise InvalidInput(_("Package file (.zip): choose a file to upload."), field=FIELD)
    with tempfile.TemporaryDirectory(prefix="package-") as folder:
        path = Path(folder) / "upload.zip"
        upload.save(path)
        yield path, upload.filename


@blueprint.errorhandler(RequestEntityTooLarge)
def _too_large(_exc: RequestEntityTooLarge) -> Response:
    # Raised while the first hook reads the form, before the launch is known: the page is in
    # the default language, and nothing was read or stored.
    limit = app_state.settings().content.max_upload_bytes // (1024 * 1024)
    message = _("Package file (.zip): the file is larger than %(mb)s MB.", mb=limit)
    return error_response(413, "package_too_large", message, FIELD)


def _message(exc: InvalidInput) -> str:
    if isinstance(exc, PackageRefused):
        return refusal_message(exc)
    return exc.message
