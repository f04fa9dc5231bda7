"""The framework as a CASE 1.1 package (1EdTech CFPackage JSON): export, and import back.

Mapping, one place (README "Exports" repeats it):

- ``CFDocument``: ``uri`` = ``{iri_base}{framework key}``, ``title`` = the zh-TW title,
  ``version``, ``description`` = the zh-TW source, ``language`` = ``zh-TW``,
  ``lastChangeDateTime`` = when the framework was loaded (whole seconds, UTC).
- ``CFItems``: one per competency, indicator and attitude, in framework order;
  ``uri`` = the item IRI, ``humanCodingScheme`` = our code, ``fullStatement`` = the zh-TW
  name, ``alternativeLabel`` = the English name, ``notes`` = the zh-TW description,
  ``language`` = ``zh-TW``, ``CFItemType`` = Competency / Indicator / Attitude,
  ``conceptKeywords`` = the zh-TW search keywords (when the item has any).
- ``CFAssociations``: ``isChildOf`` from each indicator (origin) to its competency
  (destination), ``sequenceNumber`` = its place under the competency.
- ``CFDefinitions.CFItemTypes``: Competency, Indicator, Attitude.
- What CASE has no field for (English description and keywords, English title and source, the
  knowledge/skill split, the framework key, the targets note) is kept in each object's
  ``extensions`` under :data:`EXTENSION_KEY`, so that our own export imports without loss.

Identifiers are UUIDs: uuid5 (URL namespace) of the object's ``uri``, so every export of the
same framework under the same ``iri_base`` has the same ids. Scales, grades, targets and classes
are not part of the package.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.competencies.coverage import framework_order
from plugin.competencies.framework import item_iri
from plugin.competencies.models import Framework, Item
from plugin.core.errors import InvalidInput

CASE_VERSION = "1.1"
LANGUAGE = "zh-TW"
EXTENSION_KEY = "https://w3id.org/tw-civil-service-dc/case-extensions"
IS_CHILD_OF = "isChildOf"
# Our item kinds as CASE item types, and back (an Indicator is knowledge unless told skill).
ITEM_TYPES = {
    "competency": "Competency",
    "knowledge": "Indicator",
    "skill": "Indicator",
    "attitude": "Attitude",
}
TYPE_DESCRIPTIONS = {
    "Competency": "A digital competency (DCn) of the framework.",
    "Indicator": "A knowledge (DCn-Km) or skill (DCn-Sm) indicator of one competency.",
    "Attitude": "An attitude (ATn) common to all competencies.",
}
MAX_CODE = 40
MAX_KEY = 100


def case_uuid(uri: str) -> str:
    """The deterministic CASE identifier of ``uri`` (uuid5 in the URL namespace)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, uri))


def _when(moment: datetime | None) -> str:
    """A CASE dateTime in UTC, whole seconds (``2025-01-02T03:04:05+00:00``)."""
    value = (moment or datetime(1970, 1, 1, tzinfo=UTC)).astimezone(UTC)
    return value.replace(microsecond=0).isoformat()


def _link(title: str, uri: str) -> dict[str, str]:
    """A CASE LinkURI object."""
    return {"title": title, "identifier": case_uuid(uri), "uri": uri}


def export_case(framework: Framework, iri_base: str, creator: str = "") -> dict[str, Any]:
    """The framework as a CFPackage (a JSON-ready mapping, the same for the same data)."""
    doc_uri = f"{iri_base}{framework.key}"
    changed = _when(framework.loaded_at)
    doc_link = _link(framework.title_zh, doc_uri)
    type_links = {
        name: _link(name, f"{doc_uri}/case/item-types/{name}") for name in TYPE_DESCRIPTIONS
    }
    document = {
        "identifier": doc_link["identifier"],
        "uri": doc_uri,
        "creator": creator or framework.title_zh,
        "title": framework.title_zh,
        "lastChangeDateTime": changed,
        "description": framework.source_zh,
        "language": LANGUAGE,
        "version": framework.version,
        "adoptionStatus": "Adopted",
        "CFPackageURI": _link(framework.title_zh, f"{doc_uri}/case/package"),
        "extensions": {
            EXTENSION_KEY: {
                "frameworkKey": framework.key,
                "titleEn": framework.title_en,
                "sourceEn": framework.source_en,
                "targetsNoteZh": framework.targets_note_zh,
                "targetsNoteEn": framework.targets_note_en,
            }
        },
    }
    items = framework_order(framework)
    by_id = {item.id: item for item in items}
    cf_items = []
    associations = []
    sequence: dict[int, int] = {}
    for item in items:
        uri = item_iri(iri_base, framework.key, item.code)
        type_name = ITEM_TYPES[item.kind]
        ours: dict[str, Any] = {"kind": item.kind, "descriptionEn": item.description_en}
        if item.keywords_en:
            ours["keywordsEn"] = item.keywords_en.split("\n")
        cf_item: dict[str, Any] = {
            "identifier": case_uuid(uri),
            "uri": uri,
            "CFDocumentURI": doc_link,
            "fullStatement": item.name_zh,
            "alternativeLabel": item.name_en,
            "humanCodingScheme": item.code,
            "notes": item.description_zh,
            "language": LANGUAGE,
            "CFItemType": type_name,
            "CFItemTypeURI": type_links[type_name],
            "lastChangeDateTime": changed,
            "extensions": {EXTENSION_KEY: ours},
        }
        if item.keywords_zh:
            cf_item["conceptKeywords"] = item.keywords_zh.split("\n")
        cf_items.append(cf_item)
        parent = by_id.get(item.parent_id) if item.parent_id is not None else None
        if parent is None:
            continue
        sequence[parent.id] = sequence.get(parent.id, 0) + 1
        parent_uri = item_iri(iri_base, framework.key, parent.code)
        association_uri = f"{uri}/case/{IS_CHILD_OF}"
        associations.append(
            {
                "identifier": case_uuid(association_uri),
                "uri": association_uri,
                "CFDocumentURI": doc_link,
                "associationType": IS_CHILD_OF,
                "sequenceNumber": sequence[parent.id],
                "originNodeURI": _link(item.code, uri),
                "destinationNodeURI": _link(parent.code, parent_uri),
                "lastChangeDateTime": changed,
            }
        )
    item_types = [
        {
            "identifier": link["identifier"],
            "uri": link["uri"],
            "title": name,
            "description": TYPE_DESCRIPTIONS[name],
            "hierarchyCode": str(number),
            "typeCode": name,
            "lastChangeDateTime": changed,
        }
        for number, (name, link) in enumerate(type_links.items(), start=1)
    ]
    return {
        "CFDocument": document,
        "CFItems": cf_items,
        "CFAssociations": associations,
        "CFDefinitions": {"CFItemTypes": item_types},
    }


def case_json(package: dict[str, Any]) -> str:
    """The package as stable JSON text (sorted keys, UTF-8 characters, two-space indent)."""
    return json.dumps(package, ensure_ascii=False, sort_keys=True, indent=2) + "\n"


# --- import -------------------------------------------------------------------------------------


@dataclass
class CaseImport:
    """What a CASE import did: the framework key and how many items it created or updated."""

    framework: str = ""
    created: int = 0
    updated: int = 0
    skipped: list[str] = field(default_factory=list)


def _fail(path: str, message: str) -> InvalidInput:
    return InvalidInput(f"CASE package: {path}: {message}", field=path)


def _text(value: Any, path: str, *, required: bool = False) -> str:
    """A string field: absent is "" unless required; anything but a string is refused."""
    if value is None:
        if required:
            raise _fail(path, "missing")
        return ""
    if not isinstance(value, str):
        raise _fail(path, "must be a string")
    if required and not value.strip():
        raise _fail(path, "must not be empty")
    return value


def _words(value: Any, path: str) -> list[str]:
    """A list of keywords (absent is none): non-empty strings on one line each."""
    words = []
    for index, word in enumerate(_list(value, path, "must be a list of strings")):
        if not isinstance(word, str) or not word.strip() or "\n" in word:
            raise _fail(f"{path}[{index}]", "must be a non-empty string on one line")
        words.append(word.strip())
    return words


def _object(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(path, "missing" if value is None else "must be an object")
    return value


def _list(value: Any, path: str, refusal: str = "must be an array") -> list[Any]:
    """``value`` if it is a list, none when absent; otherwise ``refusal`` at ``path``."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise _fail(path, refusal)
    return value


def _ours(entry: dict[str, Any], path: str) -> dict[str, Any]:
    """Our own extension object of a CASE entry ({} when another tool made it)."""
    extensions = entry.get("extensions")
    if extensions is None:
        return {}
    found = _object(extensions, f"{path}.extensions").get(EXTENSION_KEY, {})
    return _object(found, f"{path}.extensions.{EXTENSION_KEY}")


def _parse_time(value: str, path: str) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _fail(path, "not an ISO 8601 date-time") from None
    return moment.replace(tzinfo=moment.tzinfo or UTC).astimezone(UTC)


def _kind(entry: dict[str, Any], ours: dict[str, Any], code: str, has_parent: bool) -> str:
    """Our item kind: our extension's, else from CFItemType, the code and the hierarchy."""
    kind = ours.get("kind")
    if kind in ITEM_TYPES:
        return str(kind)
    type_name = str(entry.get("CFItemType") or "").lower()
    if "attitude" in type_name:
        return "attitude"
    if "competenc" in type_name and not has_parent:
        return "competency"
    if not has_parent:
        return "competency"
    return "skill" if re.search(r"-S\d", code) or "skill" in type_name else "knowledge"


def _framework_key(document: dict[str, Any], ours: dict[str, Any]) -> str:
    key = ours.get("frameworkKey")
    if isinstance(key, str) and key.strip():
        return key.strip()[:MAX_KEY]
    return f"case-{document['identifier']}"[:MAX_KEY]


def read_case(raw_text: str | bytes) -> dict[str, Any]:
    """Parse CASE JSON text; refuses anything but a JSON object."""
    try:
        package = json.loads(raw_text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise _fail("file", f"not valid JSON: {exc}") from None
    return _object(package, "file")


# (code, entry, extensions, name, (zh-TW keywords, English keywords) one a line)
_CheckedItem = tuple[str, dict[str, Any], dict[str, Any], str, tuple[str, str]]


def import_case(session: Session, package: dict[str, Any]) -> CaseImport:
    """Create or update a framework from a CFPackage; errors name the field at fault.

    Items are matched by ``humanCodingScheme`` (items without one are skipped and reported);
    ``isChildOf`` between two imported items sets the parent. Items already in the framework
    but absent from the package are kept (module tags may point at them).
    """
    document = _object(package.get("CFDocument"), "CFDocument")
    identifier = _text(document.get("identifier"), "CFDocument.identifier", required=True)
    title = _text(document.get("title"), "CFDocument.title", required=True)
    doc_ours = _ours(document, "CFDocument")
    changed_at = _parse_time(
        _text(document.get("lastChangeDateTime"), "CFDocument.lastChangeDateTime"),
        "CFDocument.lastChangeDateTime",
    )
    entries = _list(package.get("CFItems"), "CFItems")
    associations = _list(package.get("CFAssociations"), "CFAssociations")

    # Check every item and association before writing anything.
    result = CaseImport()
    checked, by_identifier = _check_items(entries, result)
    parents = _check_parents(associations, by_identifier)

    key = _framework_key({"identifier": identifier}, doc_ours)
    result.framework = key
    framework = session.scalars(select(Framework).where(Framework.key == key)).one_or_none()
    if framework is None:
        framework = Framework(key=key)
        session.add(framework)
    framework.version = _text(document.get("version"), "CFDocument.version")[:40]
    framework.title_zh = title
    framework.title_en = str(doc_ours.get("titleEn") or title)
    framework.source_zh = _text(document.get("description"), "CFDocument.description")
    framework.source_en = str(doc_ours.get("sourceEn") or "")
    framework.targets_note_zh = str(doc_ours.get("targetsNoteZh") or "")
    framework.targets_note_en = str(doc_ours.get("targetsNoteEn") or "")
    canonical = json.dumps(package, sort_keys=True, ensure_ascii=False)
    framework.content_sha256 = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    if changed_at is not None:
        framework.loaded_at = changed_at
    session.flush()
    _write_items(session, framework, checked, parents, result)
    session.expire(framework, ["items"])
    return result


def _check_items(
    entries: list[Any], result: CaseImport
) -> tuple[list[_CheckedItem], dict[str, str]]:
    """The items to import as (code, entry, extensions, name, keywords), and each identifier's
    code.

    Items without a code are skipped and noted in ``result``.
    """
    by_identifier: dict[str, str] = {}
    checked: list[_CheckedItem] = []
    codes: set[str] = set()
    for index, raw_entry in enumerate(entries):
        path = f"CFItems[{index}]"
        entry = _object(raw_entry, path)
        item_id = _text(entry.get("identifier"), f"{path}.identifier", required=True)
        name = _text(entry.get("fullStatement"), f"{path}.fullStatement", required=True)
        code = _text(entry.get("humanCodingScheme"), f"{path}.humanCodingScheme").strip()
        if not code:
            result.skipped.append(item_id)
            continue
        if len(code) > MAX_CODE:
            raise _fail(f"{path}.humanCodingScheme", f"longer than {MAX_CODE} characters")
        if code in codes:
            raise _fail(f"{path}.humanCodingScheme", f"duplicate code {code!r}")
        codes.add(code)
        by_identifier[item_id] = code
        ours = _ours(entry, path)
        keywords = (
            "\n".join(_words(entry.get("conceptKeywords"), f"{path}.conceptKeywords")),
            "\n".join(_words(ours.get("keywordsEn"), f"{path}.extensions.keywordsEn")),
        )
        checked.append((code, entry, ours, name, keywords))
    return checked, by_identifier


def _check_parents(associations: list[Any], by_identifier: dict[str, str]) -> dict[str, str]:
    """Each imported item's parent code, from the ``isChildOf`` associations between them."""
    parents: dict[str, str] = {}
    for index, raw_association in enumerate(associations):
        path = f"CFAssociations[{index}]"
        association = _object(raw_association, path)
        kind = _text(association.get("associationType"), f"{path}.associationType", required=True)
        origin = _object(association.get("originNodeURI"), f"{path}.originNodeURI")
        destination = _object(association.get("destinationNodeURI"), f"{path}.destinationNodeURI")
        origin_id = _text(
            origin.get("identifier"), f"{path}.originNodeURI.identifier", required=True
        )
        destination_id = _text(
            destination.get("identifier"), f"{path}.destinationNodeURI.identifier", required=True
        )
        if kind != IS_CHILD_OF:
            continue
        child, parent = by_identifier.get(origin_id), by_identifier.get(destination_id)
        if child is None or parent is None:
            continue  # a child of the document itself, or of an item without a code
        if child in parents and parents[child] != parent:
            raise _fail(f"{path}.originNodeURI", f"{child} is a child of two items")
        if child == parent:
            raise _fail(f"{path}.destinationNodeURI", f"{child} cannot be its own parent")
        parents[child] = parent
    return parents


def _write_items(
    session: Session,
    framework: Framework,
    checked: list[_CheckedItem],
    parents: dict[str, str],
    result: CaseImport,
) -> None:
    """Create or update the framework's items in package order, then set their parents."""
    existing = {
        item.code: item
        for item in session.scalars(select(Item).where(Item.framework_id == framework.id))
    }
    items: dict[str, Item] = {}
    for position, (code, entry, ours, name, keywords) in enumerate(checked, start=1):
        item = existing.get(code)
        if item is None:
            item = Item(framework_id=framework.id, code=code)
            session.add(item)
            result.created += 1
        else:
            result.updated += 1
        item.kind = _kind(entry, ours, code, code in parents)
        item.position = position
        item.name_zh = name
        item.name_en = str(entry.get("alternativeLabel") or name)
        item.description_zh = str(entry.get("notes") or "")
        item.description_en = str(ours.get("descriptionEn") or "")
        item.keywords_zh, item.keywords_en = keywords
        items[code] = item
    session.flush()
    for code, item in items.items():
        parent = parents.get(code)
        item.parent_id = items[parent].id if parent is not None else None
    session.flush()
