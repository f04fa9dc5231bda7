"""``GET /vendor/<package>/<file>``: the front-end packages npm installed, from the tool's origin.

package.json pins them and package-lock.json fixes every byte; ``make`` installs them into the
git-ignored ``node_modules/``. Only the files named below are served (never the whole folder),
so the routes stay the same whatever npm adds beside them.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, abort, send_file

blueprint = Blueprint("vendor", __name__)

# The project root (plugin/web/vendor.py -> three levels up), where npm installs.
NODE_MODULES = Path(__file__).resolve().parents[2] / "node_modules"

# (package, file name in the URL) -> the file inside node_modules.
SERVED_FILES: dict[tuple[str, str], str] = {
    ("axe-core", "axe.min.js"): "axe-core/axe.min.js",
    ("scorm-again", "scorm12.min.js"): "scorm-again/dist/scorm12.min.js",
    ("scorm-again", "scorm2004.min.js"): "scorm-again/dist/scorm2004.min.js",
    ("cmi5", "Cmi5.umd.js"): "@xapi/cmi5/dist/Cmi5.umd.js",
}


def vendor_file(package: str, name: str) -> Path | None:
    """The installed file served as ``/vendor/<package>/<name>``, or None when it is not one."""
    relative = SERVED_FILES.get((package, name))
    if relative is None:
        return None
    path = NODE_MODULES / relative
    return path if path.is_file() else None


@blueprint.get("/vendor/<package>/<name>")
def serve(package: str, name: str) -> Response:
    """The pinned file with a day's caching (the lockfile changes the bytes, never the URL)."""
    path = vendor_file(package, name)
    if path is None:
        abort(404)
    return send_file(path, mimetype="text/javascript", max_age=86400, conditional=True)
