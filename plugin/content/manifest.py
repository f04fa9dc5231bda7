"""Reading a SCORM package's ``imsmanifest.xml``: version, default organization, items, resources.

The manifest comes from an upload and is hostile until read: a document type declaration
(and with it every entity, internal or external) is refused before the tree is built, so
neither an entity-expansion bomb nor an external reference can be expanded or fetched.
SCORM 1.2 CAM §2.3 and SCORM 2004 CAM §3.4 define the elements read here.
"""

from __future__ import annotations

import posixpath
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit
from xml.parsers import expat

from plugin.content.errors import PackageRefused

MAX_MANIFEST_BYTES = 5 * 1024 * 1024
MAX_ITEMS = 2000
MAX_IDENTIFIER = 255
MAX_DEPTH = 20

CP_12 = "http://www.imsproject.org/xsd/imscp_rootv1p1p2"
CP_2004 = "http://www.imsglobal.org/xsd/imscp_v1p1"
ADLCP_12 = "http://www.adlnet.org/xsd/adlcp_rootv1p2"
ADLCP_2004 = "http://www.adlnet.org/xsd/adlcp_v1p3"
IMSSS = "http://www.imsglobal.org/xsd/imsss"
ADLNAV = "http://www.adlnet.org/xsd/adlnav_v1p3"
XML_NS = "http://www.w3.org/XML/1998/namespace"

SCORM_12 = "1.2"
SCORM_2004_2 = "2004-2"
SCORM_2004_3 = "2004-3"
SCORM_2004_4 = "2004-4"
SCORM_VERSIONS = (SCORM_12, SCORM_2004_2, SCORM_2004_3, SCORM_2004_4)
# <schemaversion> as each edition's CAM writes it (1.2 CAM §2.3.3; 2004 CAM §3.4.1.3).
SCHEMA_VERSIONS = {
    "1.2": SCORM_12,
    "cam 1.3": SCORM_2004_2,
    "2004 3rd edition": SCORM_2004_3,
    "2004 4th edition": SCORM_2004_4,
}
# imsss:controlMode attributes the player honours (SN §3.2) and adlnav:hideLMSUI's vocabulary
# (CAM §3.4.1.15, 4th edition).
CONTROL_MODES = ("choice", "choiceExit", "flow", "forwardOnly")
HIDE_LMS_UI = frozenset(
    {"previous", "continue", "exit", "exitAll", "abandon", "abandonAll", "suspendAll"}
)


@dataclass
class Resource:
    """A ``<resource>``: its launch href (with any ``xml:base``) and the files it lists."""

    identifier: str
    scorm_type: str  # "sco" or "asset"
    href: str
    files: list[str] = field(default_factory=list)
    dependencies: list[str] = field(default_factory=list)


@dataclass
class Item:
    """An ``<item>`` of the default organization, with what SCORM attaches to it."""

    identifier: str
    title: str
    resource: str = ""  # identifierref; empty for an item that only groups others
    parameters: str = ""
    visible: bool = True
    data_from_lms: str = ""
    mastery_score: float | None = None  # scaled 0..1
    max_time_allowed: str = ""  # 1.2 CMITimespan, 2004 xs:duration
    time_limit_action: str = ""
    # imsss:controlMode as written (SN §5.1.2; absent attributes take navigation.py's defaults)
    control: dict[str, bool] = field(default_factory=dict)
    hide_lms_ui: list[str] = field(default_factory=list)  # adlnav:hideLMSUI (CAM §3.4.1.15)
    children: list[Item] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The item and its children as plain values (stored with the version)."""
        plain: dict[str, Any] = {
            "identifier": self.identifier,
            "title": self.title,
            "resource": self.resource,
            "children": [child.as_dict() for child in self.children],
        }
        if self.control:
            plain["control"] = self.control
        if self.hide_lms_ui:
            plain["hide"] = self.hide_lms_ui
        return plain


@dataclass
class Manifest:
    """What the tool keeps of a manifest."""

    version: str
    title: str
    organization: str
    items: list[Item]
    resources: dict[str, Resource]
    control: dict[str, bool] = field(default_factory=dict)  # the organization's controlMode

    def leaves(self) -> list[Item]:
        """The items that launch a resource, in the organization's order (depth first)."""
        found: list[Item] = []

        def walk(items: list[Item]) -> None:
            for item in items:
                if item.resource:
                    found.append(item)
                walk(item.children)

        walk(self.items)
        return found

    def launch_href(self, item: Item) -> str:
        """The item's resource href with the item's parameters (SCORM 2004 CAM §3.4.1.10)."""
        href = self.resources[item.resource].href
        return join_parameters(href, item.parameters)

    def mastery_score(self) -> float | None:
        """The package's mastery score: the one its SCOs agree on, else None."""
        scores = {item.mastery_score for item in self.leaves() if item.mastery_score is not None}
        return scores.pop() if len(scores) == 1 else None


def join_parameters(href: str, parameters: str) -> str:
    """Append an item's ``parameters`` to a launch href as the CAM's rules say."""
    parameters = parameters.strip()
    if not parameters:
        return href
    if parameters.startswith(("?", "&")):
        parameters = parameters[1:]
        return f"{href}&{parameters}" if "?" in href else f"{href}?{parameters}"
    if parameters.startswith("#"):
        return href if "#" in href else href + parameters
    return f"{href}&{parameters}" if "?" in href else f"{href}?{parameters}"


def declaration_problem(data: bytes) -> tuple[str, str] | None:
    """("doctype", "") when the XML declares a document type, entities or an external
    reference, ("invalid", why) when it is not well-formed, else None; before any tree."""

    class Declared(Exception):
        pass

    def refuse(*_args: object) -> None:
        raise Declared

    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.UnparsedEntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse  # type: ignore[assignment]
    try:
        parser.Parse(data, True)
    except Declared:
        return ("doctype", "")
    except expat.ExpatError as exc:
        return ("invalid", str(exc))
    return None


def _refuse_declarations(data: bytes) -> None:
    """Refuse any DOCTYPE, entity or external reference before a tree is built."""
    problem = declaration_problem(data)
    if problem is None:
        return
    if problem[0] == "doctype":
        raise PackageRefused(
            "manifest_doctype",
            "imsmanifest.xml declares a document type or entities, which packages may not do",
        )
    raise PackageRefused(
        "manifest_invalid_xml",
        f"imsmanifest.xml is not well-formed XML: {problem[1]}",
        detail=problem[1],
    )


def parse_manifest(data: bytes) -> Manifest:
    """Read a manifest; :class:`PackageRefused` says what is wrong with it."""
    if len(data) > MAX_MANIFEST_BYTES:
        raise PackageRefused(
            "manifest_too_large",
            f"imsmanifest.xml is {len(data)} bytes; at most {MAX_MANIFEST_BYTES} are read",
            size=len(data),
            limit=MAX_MANIFEST_BYTES,
        )
    _refuse_declarations(data)
    root = ET.fromstring(data)  # safe now: no DTD, so no entity can be declared or expanded
    if _local(root.tag) != "manifest":
        raise PackageRefused(
            "manifest_not_scorm",
            f"imsmanifest.xml's root element is <{_local(root.tag)}>, not <manifest>",
            found=_local(root.tag),
        )
    cp = _namespace(root.tag)
    version = _version(root, cp, data)
    adlcp = ADLCP_12 if version == SCORM_12 else ADLCP_2004
    resources = _resources(root, cp, adlcp)
    organization, title, items, control = _organization(root, cp, adlcp, version)
    seen: set[str] = set()
    for item in _walk(items):
        if item.identifier in seen or not 0 < len(item.identifier) <= MAX_IDENTIFIER:
            # Items are xs:ID (SCORM 2004 CAM §3.4.1.12): the player addresses them by it.
            raise PackageRefused(
                "manifest_duplicate_item",
                f"the item identifier {item.identifier[:80]!r} is missing, longer than "
                f"{MAX_IDENTIFIER} characters or used by more than one item",
                item=item.identifier[:80],
                limit=MAX_IDENTIFIER,
            )
        seen.add(item.identifier)
        if item.resource and item.resource not in resources:
            raise PackageRefused(
                "manifest_unknown_resource",
                f"item {item.identifier!r} names resource {item.resource!r}, "
                "which the manifest does not have",
                item=item.identifier,
                resource=item.resource,
            )
    manifest = Manifest(version, title, organization, items, resources, control)
    if not manifest.leaves():
        raise PackageRefused(
            "manifest_nothing_to_launch",
            "the default organization has no item that launches a resource",
        )
    return manifest


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _namespace(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def _text(element: ET.Element | None) -> str:
    return (element.text or "").strip() if element is not None else ""


def _version(root: ET.Element, cp: str, data: bytes) -> str:
    """SCORM version from ``<metadata><schemaversion>``, else from the namespaces used."""
    stated = _text(root.find(f"{{{cp}}}metadata/{{{cp}}}schemaversion"))
    if stated:
        version = SCHEMA_VERSIONS.get(" ".join(stated.lower().split()))
        if version is None:
            raise PackageRefused(
                "manifest_unsupported_version",
                f"the manifest's schemaversion is {stated!r}; SCORM 1.2 and SCORM 2004 "
                "(2nd, 3rd and 4th edition) are supported",
                found=stated,
            )
        return version
    # The namespaces declared anywhere in the document (the raw bytes: serialising a deeply
    # nested tree again would recurse without bound).
    if ADLCP_12.encode() in data or cp == CP_12:
        return SCORM_12
    if ADLCP_2004.encode() in data or IMSSS.encode() in data:
        # 2004 without a stated edition: the 4th edition's run-time is a superset of earlier ones.
        return SCORM_2004_4
    raise PackageRefused(
        "manifest_not_scorm",
        "imsmanifest.xml states no schemaversion and uses no SCORM namespace",
        found=cp or "no namespace",
    )


def _base(element: ET.Element) -> str:
    return element.get(f"{{{XML_NS}}}base", "")


def _resources(root: ET.Element, cp: str, adlcp: str) -> dict[str, Resource]:
    holder = root.find(f"{{{cp}}}resources")
    if holder is None:
        raise PackageRefused("manifest_no_resources", "the manifest has no <resources>")
    found: dict[str, Resource] = {}
    for element in holder.findall(f"{{{cp}}}resource"):
        identifier = element.get("identifier", "")
        # 1.2 spells it scormtype, 2004 scormType (SCORM 2004 CAM §3.4.1.19).
        scorm_type = element.get(f"{{{adlcp}}}scormType") or element.get(f"{{{adlcp}}}scormtype")
        base = posixpath.join(_base(holder), _base(element)) if _base(element) else _base(holder)
        href = element.get("href", "")
        files = [_join(base, file.get("href", "")) for file in element.findall(f"{{{cp}}}file")]
        found[identifier] = Resource(
            identifier=identifier,
            scorm_type=(scorm_type or "asset").lower(),
            href=_join(base, href) if href else "",
            files=[name for name in files if name],
            dependencies=[
                dep.get("identifierref", "") for dep in element.findall(f"{{{cp}}}dependency")
            ],
        )
    return found


def _join(base: str, href: str) -> str:
    if not href or urlsplit(href).scheme:
        return href
    return posixpath.join(base, href) if base else href


def _organization(
    root: ET.Element, cp: str, adlcp: str, version: str
) -> tuple[str, str, list[Item], dict[str, bool]]:
    holder = root.find(f"{{{cp}}}organizations")
    organizations = holder.findall(f"{{{cp}}}organization") if holder is not None else []
    if holder is None or not organizations:
        raise PackageRefused("manifest_no_organization", "the manifest has no <organization>")
    wanted = holder.get("default", "")
    chosen = next((o for o in organizations if o.get("identifier") == wanted), organizations[0])
    count = [0]
    items = [
        _item(element, cp, adlcp, version, count, 1) for element in chosen.findall(f"{{{cp}}}item")
    ]
    title = _text(chosen.find(f"{{{cp}}}title")) or chosen.get("identifier", "")
    control = _control_mode(chosen) if version != SCORM_12 else {}
    return chosen.get("identifier", ""), title, items, control


def _item(
    element: ET.Element, cp: str, adlcp: str, version: str, count: list[int], depth: int
) -> Item:
    count[0] += 1
    if count[0] > MAX_ITEMS or depth > MAX_DEPTH:
        raise PackageRefused(
            "manifest_too_many_items",
            f"the organization has more than {MAX_ITEMS} items or is nested deeper than "
            f"{MAX_DEPTH} levels",
            limit=MAX_ITEMS,
        )
    item = Item(
        identifier=element.get("identifier", ""),
        title=_text(element.find(f"{{{cp}}}title")),
        resource=element.get("identifierref", ""),
        parameters=element.get("parameters", ""),
        visible=element.get("isvisible", "true").strip().lower() != "false",
    )
    if version == SCORM_12:
        # SCORM 1.2 CAM §2.3.5.2: adlcp:masteryscore is 0–100, as cmi.student_data.mastery_score.
        item.data_from_lms = _text(element.find(f"{{{adlcp}}}datafromlms"))
        item.mastery_score = _score(_text(element.find(f"{{{adlcp}}}masteryscore")), 100.0, item)
        item.max_time_allowed = _text(element.find(f"{{{adlcp}}}maxtimeallowed"))
        item.time_limit_action = _text(element.find(f"{{{adlcp}}}timelimitaction"))
    else:
        item.data_from_lms = _text(element.find(f"{{{adlcp}}}dataFromLMS"))
        item.time_limit_action = _text(element.find(f"{{{adlcp}}}timeLimitAction"))
        sequencing = element.find(f"{{{IMSSS}}}sequencing")
        if sequencing is not None:
            limits = sequencing.find(f"{{{IMSSS}}}limitConditions")
            if limits is not None:
                item.max_time_allowed = limits.get("attemptAbsoluteDurationLimit", "")
            item.mastery_score = _primary_measure(sequencing, item)
        item.control = _control_mode(element)
        item.hide_lms_ui = [
            _text(hide)
            for hide in element.findall(
                f"{{{ADLNAV}}}presentation/{{{ADLNAV}}}navigationInterface/{{{ADLNAV}}}hideLMSUI"
            )
            if _text(hide) in HIDE_LMS_UI
        ]
    item.children = [
        _item(child, cp, adlcp, version, count, depth + 1)
        for child in element.findall(f"{{{cp}}}item")
    ]
    return item


def _control_mode(element: ET.Element) -> dict[str, bool]:
    """The ``imsss:sequencing/imsss:controlMode`` attributes an item or organization states."""
    mode = element.find(f"{{{IMSSS}}}sequencing/{{{IMSSS}}}controlMode")
    if mode is None:
        return {}
    return {
        name: mode.get(name, "").strip().lower() in ("true", "1")
        for name in CONTROL_MODES
        if mode.get(name) is not None
    }


def _primary_measure(sequencing: ET.Element, item: Item) -> float | None:
    """The primary objective's minNormalizedMeasure (SCORM 2004 SN §3.10; it becomes
    cmi.scaled_passing_score, RTE §4.2.20); 1.0 when satisfied by measure without one."""
    primary = sequencing.find(f"{{{IMSSS}}}objectives/{{{IMSSS}}}primaryObjective")
    if primary is None:
        return None
    measure = _text(primary.find(f"{{{IMSSS}}}minNormalizedMeasure"))
    if measure:
        return _score(measure, 1.0, item, lowest=-1.0)
    if primary.get("satisfiedByMeasure", "false").strip().lower() == "true":
        return 1.0
    return None


def _score(text: str, scale: float, item: Item, lowest: float = 0.0) -> float | None:
    if not text:
        return None
    try:
        value = float(text) / scale
    except ValueError:
        value = float("nan")
    if not lowest <= value <= 1.0:
        raise PackageRefused(
            "manifest_bad_mastery_score",
            f"item {item.identifier!r} has mastery score {text!r}, "
            f"which is not a number from {lowest * scale:g} to {scale:g}",
            item=item.identifier,
            found=text,
        )
    return value


def _walk(items: list[Item]) -> list[Item]:
    found: list[Item] = []
    for item in items:
        found.append(item)
        found.extend(_walk(item.children))
    return found


def rename_files(manifest: Manifest, real: dict[str, str]) -> None:
    """Point the resources' hrefs at the zip's own spelling of a file (``real``: the path a
    manifest wrote → the entry's), keeping any query or fragment."""
    for resource in manifest.resources.values():
        resource.href = _renamed(resource.href, real)
        resource.files = [_renamed(href, real) for href in resource.files]


def _renamed(href: str, real: dict[str, str]) -> str:
    parts = urlsplit(href)
    path = unquote(parts.path)
    if not href or parts.scheme or parts.netloc or path not in real:
        return href
    # Written as the manifest wrote it: percent-encoded only when it was.
    new_path = real[path] if path == parts.path else quote(real[path], safe="/")
    return urlunsplit(parts._replace(path=new_path))


def files_named(manifest: Manifest) -> list[tuple[str, str]]:
    """(resource identifier, local path) of every file the manifest's resources name."""
    named: list[tuple[str, str]] = []
    for resource in manifest.resources.values():
        for href in [resource.href, *resource.files]:
            parts = urlsplit(href)
            if not href or parts.scheme or parts.netloc:
                continue  # an absolute URL is not in the package
            named.append((resource.identifier, unquote(parts.path)))
    return named
