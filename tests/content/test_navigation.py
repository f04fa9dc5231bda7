"""Flow and choice navigation from a package's control modes (SCORM 2004 SN §3.2, §4.6): the
manifest's controlMode and hideLMSUI as read, and which requests each item makes valid."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from plugin.content.manifest import Manifest, parse_manifest
from plugin.content.models import PackageVersion
from plugin.content.navigation import NavigationRefused, controls, resolve
from tests.content.packages import scorm12, scorm2004_flow


def manifest_of(package: Path) -> Manifest:
    """The manifest of a package built by the test helpers."""
    with zipfile.ZipFile(package) as archive:
        return parse_manifest(archive.read("imsmanifest.xml"))


def version_of(package: Path) -> PackageVersion:
    """An unsaved version holding what the import keeps for navigation."""
    manifest = manifest_of(package)
    return PackageVersion(
        scorm_version=manifest.version,
        item_tree=[item.as_dict() for item in manifest.items],
        control_mode=manifest.control,
    )


def test_control_modes_and_hide_lms_ui_are_read_as_written(tmp_path: Path) -> None:
    manifest = manifest_of(
        scorm2004_flow(
            tmp_path / "p.zip",
            organization_mode='choice="false" flow="true"',
            cluster_mode='flow="true" forwardOnly="true" choiceExit="false"',
            hide=("continue", "previous", "notAValue"),
        )
    )

    assert manifest.control == {"choice": False, "flow": True}
    one, part = manifest.items
    assert one.hide_lms_ui == ["continue", "previous"]
    assert part.control == {"choiceExit": False, "flow": True, "forwardOnly": True}
    assert one.as_dict()["hide"] == ["continue", "previous"] and "control" not in one.as_dict()


def test_continue_and_previous_walk_the_tree_in_order_across_clusters(tmp_path: Path) -> None:
    version = version_of(scorm2004_flow(tmp_path / "p.zip"))

    assert resolve(version, "one", "continue") == "two"
    assert resolve(version, "two", "continue") == "three"
    assert resolve(version, "three", "previous") == "two"
    assert resolve(version, "two", "previous") == "one"
    first, last = controls(version, "one"), controls(version, "three")
    assert (first.previous, first.next, last.next) == (None, "two", None)
    assert first.request_valid()["continue"] == "true"
    assert first.request_valid()["previous"] == "false"


def test_without_flow_the_player_offers_no_buttons_and_refuses_continue(tmp_path: Path) -> None:
    version = version_of(scorm2004_flow(tmp_path / "p.zip", organization_mode='choice="true"'))

    nav = controls(version, "one")
    assert not nav.show_continue and not nav.show_previous and nav.next is None
    with pytest.raises(NavigationRefused) as refused:
        resolve(version, "one", "continue")
    assert (refused.value.field, refused.value.reason) == ("request", "not_valid")


def test_a_cluster_without_flow_is_not_entered_by_continue(tmp_path: Path) -> None:
    version = version_of(scorm2004_flow(tmp_path / "p.zip", cluster_mode='flow="false"'))

    assert controls(version, "one").next is None


def test_forward_only_disables_previous_and_choosing_backwards(tmp_path: Path) -> None:
    version = version_of(
        scorm2004_flow(tmp_path / "p.zip", cluster_mode='flow="true" forwardOnly="true"')
    )

    nav = controls(version, "three")
    assert nav.show_previous and nav.previous is None
    assert "two" not in nav.choosable and "one" in nav.choosable
    assert nav.request_valid()["choice"] == {"one": "true", "two": "false", "three": "true"}
    with pytest.raises(NavigationRefused):
        resolve(version, "three", "previous")


def test_choice_false_hides_the_contents_and_refuses_a_choice(tmp_path: Path) -> None:
    version = version_of(
        scorm2004_flow(tmp_path / "p.zip", organization_mode='choice="false" flow="true"')
    )

    assert not controls(version, "one").toc
    with pytest.raises(NavigationRefused) as refused:
        resolve(version, "one", "choice", "two")
    assert refused.value.field == "target"


def test_choice_exit_false_keeps_the_learner_inside_the_cluster(tmp_path: Path) -> None:
    version = version_of(
        scorm2004_flow(tmp_path / "p.zip", cluster_mode='flow="true" choiceExit="false"')
    )

    assert resolve(version, "two", "choice", "three") == "three"
    assert controls(version, "two").choosable == {"two", "three"}
    with pytest.raises(NavigationRefused):
        resolve(version, "two", "choice", "one")


def test_hide_lms_ui_hides_the_players_own_buttons(tmp_path: Path) -> None:
    version = version_of(scorm2004_flow(tmp_path / "p.zip", hide=("continue",)))

    nav = controls(version, "one")
    assert not nav.show_continue and nav.show_previous and nav.next == "two"


def test_unknown_items_and_requests_are_refused_naming_the_field(tmp_path: Path) -> None:
    version = version_of(scorm2004_flow(tmp_path / "p.zip"))

    for args, field in [
        (("elsewhere", "continue"), "from"),
        (("one", "jumpAround"), "request"),
        (("one", "choice", "elsewhere"), "target"),
    ]:
        with pytest.raises(NavigationRefused) as refused:
            resolve(version, *args)
        assert refused.value.field == field


def test_ending_requests_deliver_nothing(tmp_path: Path) -> None:
    version = version_of(scorm2004_flow(tmp_path / "p.zip"))

    assert [resolve(version, "two", r) for r in ("exit", "exitAll", "suspendAll")] == [None] * 3


def test_a_single_sco_package_shows_no_flow_buttons(tmp_path: Path) -> None:
    version = version_of(scorm12(tmp_path / "p.zip"))

    nav = controls(version, "item-1")
    assert nav.toc and nav.next is None and nav.previous is None  # one SCO: nowhere to go
    assert not nav.show_continue and not nav.show_previous


def test_a_multi_sco_scorm_12_package_moves_in_tree_order() -> None:
    def sco(identifier: str) -> dict[str, object]:
        return {"identifier": identifier, "title": identifier, "resource": "r", "children": []}

    group = {"identifier": "g", "title": "g", "resource": "", "children": [sco("b"), sco("c")]}
    version = PackageVersion(scorm_version="1.2", item_tree=[sco("a"), group], control_mode={})

    assert [resolve(version, x, "continue") for x in ("a", "b")] == ["b", "c"]
    assert [resolve(version, x, "previous") for x in ("c", "b")] == ["b", "a"]
    assert controls(version, "c").choosable == {"a", "b", "c"}
