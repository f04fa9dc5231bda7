"""Reading a cmi5 course structure (``cmi5.xml``): course, blocks, AUs and objectives.

cmi5 §13 ("Course Structure Data Requirements") defines the document and §13.2 its XSD. The
structure comes from an upload and is hostile until read, as a SCORM manifest is
(plugin/content/manifest.py): a document type declaration is refused before a tree is built,
the bytes read are bounded, and so are the number of elements and their nesting. A course
arrives either as a zip with ``cmi5.xml`` at its root (relative AU urls name files in the zip)
or as a bare ``cmi5.xml`` whose AUs live at absolute URLs (cmi5 §14).
"""

from __future__ import annotations

import posixpath
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Collection
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Literal, NoReturn
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from plugin.content.archive import MANIFEST, decoded_name, nested_folder, open_zip
from plugin.content.errors import PackageRefused
from plugin.content.manifest import MAX_MANIFEST_BYTES, declaration_problem

STRUCTURE = "cmi5.xml"
NS = "https://w3id.org/xapi/profiles/cmi5/v1/CourseStructure.xsd"
MAX_STRUCTURE_BYTES = MAX_MANIFEST_BYTES
# cmi5 §6.1: an LMS must take courses of more than 1000 AUs; the bound leaves room for blocks
# and objectives while stopping a document that is only elements.
MAX_NODES = 5000
MAX_DEPTH = 20
MAX_ID = 2000
# cmi5 §13.1.4 (the au element's attributes) and their defaults.
LAUNCH_METHODS = ("AnyWindow", "OwnWindow")
MOVE_ON = ("NotApplicable", "Passed", "Completed", "CompletedAndPassed", "CompletedOrPassed")
URL_SCHEMES = ("http", "https")

LangMap = dict[str, str]


@dataclass(frozen=True)
class Described:
    """An element's id with its titles and descriptions, each as {language: text}."""

    id: str
    titles: LangMap
    descriptions: LangMap


@dataclass(frozen=True)
class Objective(Described):
    """An ``<objectives>/<objective>`` of the course (cmi5 §13.1.3)."""


@dataclass(frozen=True)
class AU:
    """An assignable unit (cmi5 §13.1.4); ``url`` is a path in the package or an absolute URL."""

    id: str
    titles: LangMap
    descriptions: LangMap
    url: str
    launch_method: str = "AnyWindow"
    move_on: str = "NotApplicable"
    mastery_score: Decimal | None = None
    launch_parameters: str = ""
    entitlement_key: str = ""
    activity_type: str = ""
    objectives: tuple[str, ...] = ()

    @property
    def absolute(self) -> bool:
        """Whether the AU lives outside the package, at an absolute URL."""
        return bool(urlsplit(self.url).scheme)


@dataclass(frozen=True)
class Block:
    """A block (cmi5 §13.1.2): AUs and blocks in document order."""

    id: str
    titles: LangMap
    descriptions: LangMap
    objectives: tuple[str, ...]
    children: tuple[AU | Block, ...]


@dataclass(frozen=True)
class Course(Described):
    """The ``<course>`` element (cmi5 §13.1.1)."""


@dataclass(frozen=True)
class CourseStructure:
    """A whole course structure: the course, its objectives and its top-level AUs and blocks."""

    course: Course
    objectives: tuple[Objective, ...]
    children: tuple[AU | Block, ...]

    def aus(self) -> list[AU]:
        """Every AU, in document order (depth first)."""
        return [node for node in _walk(self.children) if isinstance(node, AU)]

    def blocks(self) -> list[Block]:
        """Every block, in document order (depth first)."""
        return [node for node in _walk(self.children) if isinstance(node, Block)]


def _walk(nodes: tuple[AU | Block, ...]) -> list[AU | Block]:
    found: list[AU | Block] = []
    for node in nodes:
        found.append(node)
        if isinstance(node, Block):
            found.extend(_walk(node.children))
    return found


def package_kind(archive: zipfile.ZipFile) -> Literal["scorm", "cmi5"] | None:
    """Which kind of package a zip is, by the file at its root: SCORM or cmi5 (else None)."""
    names = {decoded_name(info) for info in archive.infolist()}
    # A zip with both stays SCORM, as it was imported before cmi5 was read at all.
    if MANIFEST in names:
        return "scorm"
    if STRUCTURE in names:
        return "cmi5"
    return None


def read_course(path: Path) -> CourseStructure:
    """The course structure of a zip (``cmi5.xml`` at its root) or of a bare ``cmi5.xml``."""
    if not zipfile.is_zipfile(path):
        with path.open("rb") as source:
            return parse_structure(source.read(MAX_STRUCTURE_BYTES + 1), None)
    with open_zip(path) as archive:
        infos = {decoded_name(info): info for info in archive.infolist()}
        info = infos.get(STRUCTURE)
        if info is None:
            _refuse_missing(list(infos))
        if info.file_size > MAX_STRUCTURE_BYTES:
            _refuse_size(info.file_size)
        with archive.open(info) as source:  # stops at the declared size, checks the CRC
            data = source.read(MAX_STRUCTURE_BYTES + 1)
        files = [name for name, entry in infos.items() if not entry.is_dir()]
        return parse_structure(data, files)


def _refuse_missing(names: list[str]) -> NoReturn:
    folder = nested_folder(names, STRUCTURE)
    if folder is not None:
        raise PackageRefused(
            "cmi5_in_folder",
            f"cmi5.xml is in the folder {folder!r}, not at the root of the zip; "
            "zip the contents of that folder instead",
            folder=folder,
        )
    raise PackageRefused(
        "cmi5_no_structure", "the zip has no cmi5.xml at its root, so it is not a cmi5 course"
    )


def _refuse_size(size: int) -> NoReturn:
    raise PackageRefused(
        "cmi5_too_large",
        f"cmi5.xml is {size} bytes; at most {MAX_STRUCTURE_BYTES} are read",
        size=size,
        limit=MAX_STRUCTURE_BYTES,
    )


def parse_structure(data: bytes, files: Collection[str] | None) -> CourseStructure:
    """Read a course structure; ``files`` are the package's entries (None: a bare cmi5.xml)."""
    if len(data) > MAX_STRUCTURE_BYTES:
        _refuse_size(len(data))
    problem = declaration_problem(data)
    if problem is not None and problem[0] == "doctype":
        raise PackageRefused(
            "cmi5_doctype",
            "cmi5.xml declares a document type or entities, which packages may not do",
        )
    if problem is not None:
        raise PackageRefused(
            "cmi5_invalid_xml", f"cmi5.xml is not well-formed XML: {problem[1]}", detail=problem[1]
        )
    root = ET.fromstring(data)  # safe now: no DTD, so no entity can be declared or expanded
    if root.tag != f"{{{NS}}}courseStructure":
        raise PackageRefused(
            "cmi5_not_course_structure",
            f"cmi5.xml's root element is {root.tag!r}, not courseStructure in the namespace {NS}",
            found=root.tag,
        )
    reader = _Reader(set(files) if files is not None else None)
    course_element = _child(root, "course", "courseStructure")
    course = Course(
        _id(course_element, "course"), *_texts(course_element, f"course {_label(course_element)}")
    )
    reader.claim(course.id, "course")
    holder = root.find(f"{{{NS}}}objectives")
    objectives = tuple(
        reader.objective(element)
        for element in (holder.findall(f"{{{NS}}}objective") if holder is not None else [])
    )
    children = reader.nodes(root, "courseStructure", 1)
    structure = CourseStructure(course, objectives, children)
    known = {objective.id for objective in objectives}
    for node in _walk(children):
        for idref in node.objectives:
            if idref not in known:
                raise PackageRefused(
                    "cmi5_unknown_objective",
                    f"{_kind(node)} {node.id!r} refers to objective {idref!r}, which the course "
                    "structure does not define",
                    element=f"{_kind(node)} {node.id}",
                    idref=idref,
                )
    return structure


def _kind(node: AU | Block) -> str:
    return "au" if isinstance(node, AU) else "block"


def _label(element: ET.Element) -> str:
    return repr(element.get("id", "")[:80]) if element.get("id") else "(no id)"


def _child(element: ET.Element, name: str, where: str) -> ET.Element:
    found = element.find(f"{{{NS}}}{name}")
    if found is None:
        raise PackageRefused(
            "cmi5_missing_element",
            f"{where} has no <{name}>, which cmi5 §13 requires",
            element=where,
            missing=name,
        )
    return found


def _id(element: ET.Element, where: str) -> str:
    """The element's id: required, an absolute IRI (cmi5 §13.1: ids become activity ids)."""
    value = element.get("id", "").strip()
    if not value or len(value) > MAX_ID or not urlsplit(value).scheme:
        raise PackageRefused(
            "cmi5_bad_id",
            f"a <{where}> has the id {value[:80]!r}, which is missing, longer than {MAX_ID} "
            "characters or not an absolute IRI",
            element=where,
            found=value[:80],
        )
    return value


def _langstrings(element: ET.Element | None) -> LangMap:
    """A textType's ``<langstring lang="…">`` values as {lang: text}, the first per language."""
    texts: LangMap = {}
    for langstring in element.findall(f"{{{NS}}}langstring") if element is not None else []:
        text = (langstring.text or "").strip()
        if text:
            texts.setdefault(langstring.get("lang", "").strip(), text)
    return texts


def _texts(element: ET.Element, where: str) -> tuple[LangMap, LangMap]:
    """The required title and description, each with at least one langstring."""
    found: list[LangMap] = []
    for name in ("title", "description"):
        texts = _langstrings(_child(element, name, where))
        if not texts:
            raise PackageRefused(
                "cmi5_missing_element",
                f"{where} has a <{name}> without any <langstring> text",
                element=where,
                missing=f"{name}/langstring",
            )
        found.append(texts)
    return found[0], found[1]


def _references(element: ET.Element) -> tuple[str, ...]:
    holder = element.find(f"{{{NS}}}objectives")
    if holder is None:
        return ()
    return tuple(ref.get("idref", "").strip() for ref in holder.findall(f"{{{NS}}}objective"))


class _Reader:
    """Walks the tree once, counting elements and claiming ids so each is used only once."""

    def __init__(self, files: set[str] | None) -> None:
        self.files = files
        self.ids: set[str] = set()
        self.count = 0

    def claim(self, value: str, where: str) -> None:
        self.count += 1
        if self.count > MAX_NODES:
            raise PackageRefused(
                "cmi5_too_many_elements",
                f"the course structure has more than {MAX_NODES} courses, blocks, AUs and "
                "objectives",
                limit=MAX_NODES,
            )
        if value in self.ids:
            # The ids become xAPI activity ids (cmi5 §9.4.2): two elements may not share one.
            raise PackageRefused(
                "cmi5_duplicate_id",
                f"the id {value[:80]!r} is used by more than one element ({where} is the second)",
                id=value[:80],
                element=where,
            )
        self.ids.add(value)

    def objective(self, element: ET.Element) -> Objective:
        objective = Objective(
            _id(element, "objective"), *_texts(element, f"objective {_label(element)}")
        )
        self.claim(objective.id, "objective")
        return objective

    def nodes(self, parent: ET.Element, where: str, depth: int) -> tuple[AU | Block, ...]:
        if depth > MAX_DEPTH:
            raise PackageRefused(
                "cmi5_too_deep",
                f"the course structure nests blocks deeper than {MAX_DEPTH} levels",
                limit=MAX_DEPTH,
            )
        found: list[AU | Block] = []
        for element in parent:
            if element.tag == f"{{{NS}}}au":
                found.append(self.au(element))
            elif element.tag == f"{{{NS}}}block":
                found.append(self.block(element, depth))
        if not found:
            # cmi5 §13.2: a course and every block hold at least one AU or block.
            raise PackageRefused(
                "cmi5_empty",
                f"{where} holds no <au> or <block>",
                element=where,
            )
        return tuple(found)

    def block(self, element: ET.Element, depth: int) -> Block:
        identifier = _id(element, "block")
        where = f"block {_label(element)}"
        self.claim(identifier, where)
        titles, descriptions = _texts(element, where)
        children = self.nodes(element, where, depth + 1)
        return Block(identifier, titles, descriptions, _references(element), children)

    def au(self, element: ET.Element) -> AU:
        identifier = _id(element, "au")
        where = f"au {_label(element)}"
        self.claim(identifier, where)
        titles, descriptions = _texts(element, where)
        url = (_child(element, "url", where).text or "").strip()
        return AU(
            id=identifier,
            titles=titles,
            descriptions=descriptions,
            url=self.url(url, where),
            launch_method=_choice(element, "launchMethod", LAUNCH_METHODS, where),
            move_on=_choice(element, "moveOn", MOVE_ON, where),
            mastery_score=_mastery_score(element, where),
            launch_parameters=_text(element, "launchParameters"),
            entitlement_key=_text(element, "entitlementKey"),
            activity_type=element.get("activityType", "").strip(),
            objectives=_references(element),
        )

    def url(self, url: str, where: str) -> str:
        """An absolute http(s) URL as written, or a relative one as the package's path."""
        parts = urlsplit(url)
        if parts.scheme or parts.netloc:
            if parts.scheme.lower() in URL_SCHEMES and parts.netloc:
                return url
            _refuse_url(where, url, "it is neither a relative path nor an http(s) URL")
        # cmi5 §13.1.4: a relative url is relative to the course structure, at the zip's root.
        path = posixpath.normpath(unquote(parts.path)) if parts.path else ""
        if path in ("", ".") or path.startswith("/") or path.split("/")[0] == "..":
            _refuse_url(where, url, "its path is empty or leaves the package")
        if self.files is None:
            _refuse_url(where, url, "a cmi5.xml without its package can only name absolute URLs")
        if path not in self.files:
            raise PackageRefused(
                "cmi5_url_not_in_package",
                f"{where} launches {url!r}, which is not in the zip",
                element=where,
                name=path,
            )
        return urlunsplit(("", "", quote(path, safe="/"), parts.query, parts.fragment))


def _refuse_url(where: str, url: str, reason: str) -> NoReturn:
    raise PackageRefused(
        "cmi5_bad_url",
        f"{where} has the url {url[:200]!r}, which cannot be launched: {reason}",
        element=where,
        found=url[:200],
    )


def _text(element: ET.Element, name: str) -> str:
    found = element.find(f"{{{NS}}}{name}")
    return (found.text or "").strip() if found is not None else ""


def _choice(element: ET.Element, name: str, allowed: tuple[str, ...], where: str) -> str:
    """An enumerated attribute (cmi5 §13.1.4), its default being the first allowed value."""
    value = element.get(name)
    if value is None:
        return allowed[0]
    if value.strip() not in allowed:
        raise PackageRefused(
            "cmi5_bad_value",
            f"{where} has {name}={value[:80]!r}; it must be one of {', '.join(allowed)}",
            element=where,
            attribute=name,
            found=value[:80],
            allowed=", ".join(allowed),
        )
    return value.strip()


def _mastery_score(element: ET.Element, where: str) -> Decimal | None:
    """masteryScore: an xs:decimal from 0 to 1 (cmi5 §13.1.4), kept exactly as written."""
    text = element.get("masteryScore")
    if text is None:
        return None
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or not Decimal(0) <= value <= Decimal(1):
        raise PackageRefused(
            "cmi5_bad_mastery_score",
            f"{where} has masteryScore {text[:80]!r}, which is not a decimal from 0 to 1",
            element=where,
            found=text[:80],
        )
    return value
