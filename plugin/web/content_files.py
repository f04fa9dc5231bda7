"""``GET /content/<module>/<version>/<path>``: a package version's files.

A version's files never change (a new upload is a new version under a new key), so they are
cached for a year and marked immutable; range requests (RFC 9110 §14) let video inside a
package seek. A path that leaves the version's folder is "not found", like a missing file.

Who may read them is :func:`may_read_files`: for now the staff of the module's organisation
(a designer's or administrator's launch, the national catalog's packages for every
organisation). The learner's player will add its runtime token there.
"""

from __future__ import annotations

import mimetypes

from flask import Blueprint, Response, abort, send_file
from flask_babel import gettext as _
from sqlalchemy import select

from plugin import app_state
from plugin.competencies.models import Module
from plugin.competencies.modules import readable_by
from plugin.content.models import PackageVersion
from plugin.content.services import storage_for, version_by_key
from plugin.core.errors import Forbidden
from plugin.lti.models import Launch
from plugin.web.audience import launch_audience
from plugin.web.designer import is_designer
from plugin.web.lti import current_launch
from plugin.web.security import frame_ancestors, use_policy

blueprint = Blueprint("content_files", __name__)

YEAR_SECONDS = 365 * 24 * 3600
# Until the player serves packages with a runtime token of their own, a file is opened with the
# designer's launch token in its URL: a package's script could read it and act as the designer.
# So these documents are sandboxed into an opaque origin with no script (CSP3 "sandbox").
# The frame-ancestors are the tool's own (the registered platforms and itself), added per
# response: CSP3 checks every ancestor, so 'self' alone would block the file inside the LMS.
FILES_POLICY = (
    "sandbox; default-src 'self' data:; script-src 'none'; object-src 'none'; "
    "base-uri 'none'; form-action 'none'"
)
# What authoring tools put in packages, typed the same on every host whatever its mime.types.
TYPES = {
    ".html": "text/html",
    ".htm": "text/html",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".css": "text/css",
    ".json": "application/json",
    ".xml": "application/xml",
    ".xsd": "application/xml",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".webm": "video/webm",
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".wav": "audio/wav",
    ".ogg": "audio/ogg",
    ".vtt": "text/vtt",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".pdf": "application/pdf",
    ".txt": "text/plain",
}


def media_type(name: str) -> str:
    """The Content-Type of a package file, by its extension."""
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    known = TYPES.get(suffix) or mimetypes.guess_type(name)[0]
    return known or "application/octet-stream"


def may_read_files(launch: Launch, version: PackageVersion) -> bool:
    """True when ``launch`` may read ``version``'s files: a designer's or administrator's
    launch of an organisation that reads the module (its own, or the national catalog)."""
    if not is_designer(launch):
        return False
    rule = readable_by(launch_audience(launch))
    found = app_state.session().scalar(
        select(Module.id).where(Module.id == version.module_id, rule)
    )
    return found is not None


@blueprint.get("/content/<module_key>/<version_dir>/<path:file_path>")
def serve(module_key: str, version_dir: str, file_path: str) -> Response:
    """One file of a stored package version."""
    launch = current_launch()
    if not is_designer(launch):
        raise Forbidden(_("Only course designers can open package files for now."))
    version = version_by_key(app_state.session(), f"{module_key}/{version_dir}")
    if version is None or not may_read_files(launch, version):
        abort(404)  # another organisation's package is as unknown as a missing one (§9)
    return send_package_file(version.storage_key, file_path, FILES_POLICY)


def send_package_file(storage_key: str, file_path: str, policy: str) -> Response:
    """A stored version's file under ``policy`` (framed only where the tool is), ranges and
    revalidation answered, cached for a year; 404 for a path the version lacks."""
    path = storage_for(app_state.settings().content).file_path(storage_key, file_path)
    if path is None:
        abort(404)
    use_policy(f"{policy}; {frame_ancestors()}")
    response = send_file(
        path, mimetype=media_type(file_path), conditional=True, max_age=YEAR_SECONDS
    )
    # private: the URL names a launch or an attempt; immutable: a version's bytes never change.
    response.headers["Cache-Control"] = f"private, max-age={YEAR_SECONDS}, immutable"
    return response
