"""Flow and choice navigation between a package's items, as the player offers and honours it.

A subset of SCORM 2004 4th edition Sequencing and Navigation (SN): the control modes of the
organization and its clusters (SN §3.2: ``choice``, ``choiceExit``, ``flow``, ``forwardOnly``)
decide which ``continue``, ``previous`` and ``choice`` requests are valid from the current item,
walking the activity tree in the order of the flow tree traversal (SN §4.6.1); the item's
``adlnav:hideLMSUI`` hides the player's own buttons. Sequencing rules, limit conditions, rollup
rules and objective maps are not evaluated (README "SCORM packages" lists what is not).
SCORM 1.2 has no sequencing: its items take choice and flow both, as LMSs commonly offer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from plugin.content.models import PackageVersion

# SN §3.2 defaults: choice and choiceExit true, flow and forwardOnly false.
DEFAULTS = {"choice": True, "choiceExit": True, "flow": False, "forwardOnly": False}
SCORM_12_MODES = {"choice": True, "choiceExit": True, "flow": True, "forwardOnly": False}
# Requests a SCO may place in adl.nav.request that the player acts on (RTE §4.4.1).
FLOW_REQUESTS = ("continue", "previous")
ENDING_REQUESTS = ("exit", "exitAll", "suspendAll")
REQUESTS = (*FLOW_REQUESTS, "choice", *ENDING_REQUESTS)


class NavigationRefused(Exception):
    """A navigation request that is not valid from the current item; ``reason`` says why."""

    def __init__(self, field_name: str, reason: str):
        super().__init__(f"{field_name}: {reason}")
        self.field = field_name
        self.reason = reason  # "unknown_item", "unknown_request", "not_valid"


@dataclass(eq=False)
class Node:
    """An activity of the tree: the organization (identifier "") or one of its items."""

    identifier: str
    launches: bool
    modes: dict[str, bool]
    hide: frozenset[str] = frozenset()
    parent: Node | None = None
    children: list[Node] = field(default_factory=list)

    def mode(self, name: str) -> bool:
        """The control mode ``name`` of this activity (its children's navigation)."""
        return self.modes.get(name, DEFAULTS[name])

    def ancestors(self) -> list[Node]:
        """Parent first, the organization last."""
        found: list[Node] = []
        node = self.parent
        while node is not None:
            found.append(node)
            node = node.parent
        return found


@dataclass
class Tree:
    """A version's activity tree, with its launchable items in the organization's order."""

    root: Node
    leaves: list[Node]

    def find(self, identifier: str) -> Node | None:
        """The launchable item ``identifier``, if the version has it."""
        return next((node for node in self.leaves if node.identifier == identifier), None)


def tree_for(version: PackageVersion) -> Tree:
    """The activity tree of ``version`` from its stored item tree and control modes."""
    scorm_12 = version.scorm_version == "1.2"
    root = Node("", False, SCORM_12_MODES if scorm_12 else dict(version.control_mode or {}))
    leaves: list[Node] = []

    def build(parent: Node, plain: list[dict[str, Any]]) -> None:
        for entry in plain:
            node = Node(
                identifier=str(entry.get("identifier", "")),
                launches=bool(entry.get("resource")),
                modes=SCORM_12_MODES if scorm_12 else dict(entry.get("control") or {}),
                hide=frozenset(entry.get("hide") or ()),
                parent=parent,
            )
            parent.children.append(node)
            if node.launches:
                leaves.append(node)
            build(node, entry.get("children") or [])

    build(root, version.item_tree or [])
    return Tree(root, leaves)


def _flow(node: Node, forward: bool) -> Node | None:
    """The item a continue (``forward``) or previous request delivers from ``node``, or None
    when the request is not valid (SN §4.6.1 flow tree and activity traversal, no rules)."""
    parent = node.parent
    if parent is None or not parent.mode("flow") or (not forward and parent.mode("forwardOnly")):
        return None
    siblings = parent.children
    index = siblings.index(node)
    for sibling in siblings[index + 1 :] if forward else reversed(siblings[:index]):
        found = _enter(sibling, forward)
        if found is not None:
            return found
        if sibling.children:
            return None  # a cluster its mode forbids flowing into stops the traversal
    return _flow(parent, forward) if parent.parent is not None else None


def _enter(node: Node, forward: bool) -> Node | None:
    """The first (or last) launchable item at or under ``node`` that flow may reach."""
    if node.launches and not node.children:
        return node
    if not node.children or not node.mode("flow"):
        return None
    ordered = node.children if forward or node.mode("forwardOnly") else node.children[::-1]
    for child in ordered:
        found = _enter(child, forward)
        if found is not None or child.children:
            return found
    return None


def _choice_valid(current: Node, target: Node) -> bool:
    """Whether a choice of ``target`` is valid from ``current`` (SN §4.6.5, without rules)."""
    target_path = target.ancestors()
    if not all(ancestor.mode("choice") for ancestor in target_path):
        return False
    # The nearest activity holding both (SN §4.6.5 "common ancestor"): current itself on a
    # choice of the item already delivered.
    common = next(
        node for node in [current, *current.ancestors()] if node is target or node in target_path
    )
    # Leaving an activity whose choiceExit is false for a target outside it is refused.
    for active in [current, *current.ancestors()]:
        if active is common:
            break
        if not active.mode("choiceExit"):
            return False
    # forwardOnly: no choice of an item before the current one within the cluster (SN §3.2.4).
    return not (common.mode("forwardOnly") and _order(target) < _order(current))


def _order(node: Node) -> list[int]:
    path: list[int] = []
    while node.parent is not None:
        path.insert(0, node.parent.children.index(node))
        node = node.parent
    return path


@dataclass
class Controls:
    """What the player offers from one item: its buttons, contents and answers to
    ``adl.nav.request_valid``."""

    toc: bool
    choosable: frozenset[str]
    items: tuple[str, ...]  # every launchable item, for request_valid.choice
    previous: str | None
    next: str | None
    show_previous: bool
    show_continue: bool

    def request_valid(self) -> dict[str, Any]:
        """``adl.nav.request_valid`` as scorm-again takes it (RTE §4.4.2)."""
        return {
            "continue": "true" if self.next else "false",
            "previous": "true" if self.previous else "false",
            "choice": {
                identifier: "true" if identifier in self.choosable else "false"
                for identifier in self.items
            },
        }


def controls(version: PackageVersion, identifier: str) -> Controls:
    """The navigation the player offers while item ``identifier`` of ``version`` is delivered."""
    tree = tree_for(version)
    current = tree.find(identifier)
    if current is None:
        raise NavigationRefused("sco", "unknown_item")
    # A package of one item has nowhere to flow: no buttons that could never work.
    flow = len(tree.leaves) > 1 and current.parent is not None and current.parent.mode("flow")
    return Controls(
        toc=tree.root.mode("choice"),
        choosable=frozenset(
            leaf.identifier for leaf in tree.leaves if _choice_valid(current, leaf)
        ),
        items=tuple(leaf.identifier for leaf in tree.leaves),
        previous=_identifier(_flow(current, forward=False)),
        next=_identifier(_flow(current, forward=True)),
        show_previous=flow and "previous" not in current.hide,
        show_continue=flow and "continue" not in current.hide,
    )


def _identifier(node: Node | None) -> str | None:
    return node.identifier if node is not None else None


def resolve(version: PackageVersion, current: str, request: str, target: str = "") -> str | None:
    """The item a navigation request from ``current`` delivers, or None when it ends the
    delivery (exit, exitAll, suspendAll); :class:`NavigationRefused` when it is not valid."""
    tree = tree_for(version)
    node = tree.find(current)
    if node is None:
        raise NavigationRefused("from", "unknown_item")
    if request not in REQUESTS:
        raise NavigationRefused("request", "unknown_request")
    if request in ENDING_REQUESTS:
        return None
    if request == "choice":
        chosen = tree.find(target)
        if chosen is None:
            raise NavigationRefused("target", "unknown_item")
        if not _choice_valid(node, chosen):
            raise NavigationRefused("target", "not_valid")
        return chosen.identifier
    delivered = _flow(node, forward=request == "continue")
    if delivered is None:
        raise NavigationRefused("request", "not_valid")
    return delivered.identifier
