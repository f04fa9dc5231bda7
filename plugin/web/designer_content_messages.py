"""Why a package was refused, told in the page's language and naming the form's field.

plugin/content/ refuses with a stable code and the values it found (plugin/content/errors.py);
this turns them into the designer's language. A code not listed falls back to the English
message, so a new refusal is never silent.
"""

from __future__ import annotations

from collections.abc import Callable

from flask_babel import gettext as _

from plugin.content.errors import PackageRefused


def _reason(text: str) -> str:
    reasons = {
        "a backslash": _("a backslash"),
        "a NUL character": _("a NUL character"),
        "an absolute path": _("an absolute path"),
        "a drive letter": _("a drive letter"),
        "a '..' segment": _("a '..' segment"),
        "a path outside the package": _("a path outside the package"),
        "a symbolic link": _("a symbolic link"),
        "a device or special file": _("a device or special file"),
    }
    return reasons.get(text, text)


MESSAGES: dict[str, Callable[[dict[str, str | int]], str]] = {
    "not_a_zip": lambda p: _("The file is not a zip archive."),
    "too_many_entries": lambda p: _(
        "The zip has %(count)s entries; at most %(limit)s are allowed.", **p
    ),
    "too_large": lambda p: _("The zip unpacks to more than %(limit)s bytes.", **p),
    "compression_ratio": lambda p: _(
        "The zip unpacks to %(ratio)s times its compressed size; at most %(limit)s is allowed.",
        **p,
    ),
    "unsafe_entry_name": lambda p: _(
        "The zip entry %(name)s has %(reason)s; entries must stay inside the package.",
        name=p["name"],
        reason=_reason(str(p["reason"])),
    ),
    "unsafe_entry_type": lambda p: _(
        "The zip entry %(name)s is %(what)s; only files and folders are allowed.",
        name=p["name"],
        what=_reason(str(p["what"])),
    ),
    "manifest_in_folder": lambda p: _(
        "imsmanifest.xml is in the folder %(folder)s, not at the root of the zip; zip the "
        "contents of that folder instead.",
        **p,
    ),
    "aicc_package": lambda p: _(
        "The zip holds AICC course files (%(files)s), not a SCORM package; export the course "
        "as SCORM 1.2 or SCORM 2004.",
        **p,
    ),
    "no_manifest": lambda p: _("The zip has no imsmanifest.xml, so it is not a SCORM package."),
    "missing_file": lambda p: _(
        "Resource %(resource)s names %(name)s, which is not in the zip.", **p
    ),
    "ambiguous_case": lambda p: _(
        "Resource %(resource)s names %(name)s, and the zip holds %(found)s, which differ only "
        "in case: keep one of them.",
        **p,
    ),
    "original_missing": lambda p: _(
        "The original zip of the package's version %(number)s is missing from the package "
        "storage, so the module cannot be copied with it; upload the package again.",
        **p,
    ),
    "manifest_too_large": lambda p: _("imsmanifest.xml is too large (%(size)s bytes).", **p),
    "manifest_doctype": lambda p: _(
        "imsmanifest.xml declares a document type or entities, which packages may not do."
    ),
    "manifest_invalid_xml": lambda p: _("imsmanifest.xml is not well-formed XML: %(detail)s", **p),
    "manifest_unsupported_version": lambda p: _(
        "The manifest's schemaversion is %(found)s; SCORM 1.2 and SCORM 2004 (2nd, 3rd and "
        "4th edition) are supported.",
        **p,
    ),
    "manifest_not_scorm": lambda p: _(
        "imsmanifest.xml is not a SCORM manifest (found: %(found)s).", **p
    ),
    "manifest_no_resources": lambda p: _("The manifest has no resources."),
    "manifest_unknown_resource": lambda p: _(
        "Item %(item)s names resource %(resource)s, which the manifest does not have.", **p
    ),
    "manifest_duplicate_item": lambda p: _(
        "The item identifier %(item)s is missing, longer than %(limit)s characters or used by "
        "more than one item.",
        **p,
    ),
    "manifest_too_many_items": lambda p: _(
        "The organization has more than %(limit)s items or is nested too deeply.", **p
    ),
    "manifest_bad_mastery_score": lambda p: _(
        "Item %(item)s has the mastery score %(found)s, which is out of range.", **p
    ),
    "manifest_no_organization": lambda p: _("The manifest has no organization of items."),
    "manifest_nothing_to_launch": lambda p: _(
        "The manifest's default organization has no item that launches a resource."
    ),
    "cmi5_no_structure": lambda p: _(
        "The zip has no cmi5.xml at its root, so it is not a cmi5 course."
    ),
    "cmi5_in_folder": lambda p: _(
        "cmi5.xml is in the folder %(folder)s, not at the root of the zip; zip the contents of "
        "that folder instead.",
        **p,
    ),
    "cmi5_too_large": lambda p: _("cmi5.xml is too large (%(size)s bytes).", **p),
    "cmi5_doctype": lambda p: _(
        "cmi5.xml declares a document type or entities, which packages may not do."
    ),
    "cmi5_invalid_xml": lambda p: _("cmi5.xml is not well-formed XML: %(detail)s", **p),
    "cmi5_not_course_structure": lambda p: _(
        "cmi5.xml is not a cmi5 course structure (its root element is %(found)s).", **p
    ),
    "cmi5_missing_element": lambda p: _(
        "In cmi5.xml, %(element)s has no %(missing)s, which cmi5 requires.", **p
    ),
    "cmi5_bad_id": lambda p: _(
        "In cmi5.xml, a %(element)s has the id %(found)s, which is missing, too long or not an "
        "absolute IRI.",
        **p,
    ),
    "cmi5_duplicate_id": lambda p: _(
        "In cmi5.xml, the id %(id)s is used by more than one element (%(element)s is the second).",
        **p,
    ),
    "cmi5_too_many_elements": lambda p: _(
        "cmi5.xml has more than %(limit)s courses, blocks, AUs and objectives.", **p
    ),
    "cmi5_too_deep": lambda p: _("cmi5.xml nests blocks deeper than %(limit)s levels.", **p),
    "cmi5_empty": lambda p: _("In cmi5.xml, %(element)s holds no AU or block.", **p),
    "cmi5_unknown_objective": lambda p: _(
        "In cmi5.xml, %(element)s refers to the objective %(idref)s, which the course does not "
        "define.",
        **p,
    ),
    "cmi5_bad_url": lambda p: _(
        "In cmi5.xml, %(element)s has the url %(found)s, which is neither a file of the zip nor "
        "an http(s) URL.",
        **p,
    ),
    "cmi5_url_not_in_package": lambda p: _(
        "In cmi5.xml, %(element)s launches %(name)s, which is not in the zip.", **p
    ),
    "cmi5_bad_value": lambda p: _(
        "In cmi5.xml, %(element)s has %(attribute)s=%(found)s; it must be one of %(allowed)s.",
        **p,
    ),
    "cmi5_bad_mastery_score": lambda p: _(
        "In cmi5.xml, %(element)s has the masteryScore %(found)s, which is not a decimal from 0 "
        "to 1.",
        **p,
    ),
}


def refusal_message(exc: PackageRefused) -> str:
    """``Package file (.zip): <why>`` in the page's language."""
    translate = MESSAGES.get(exc.code)
    why = translate(exc.params) if translate is not None else exc.message
    return _("Package file (.zip): %(why)s", why=why)
