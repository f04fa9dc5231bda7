"""Frameworks, modules and coverage as JSON: content, filters, pagination and input errors."""

from __future__ import annotations

from flask.testing import FlaskClient

FRAMEWORK = "tw-civil-service-dc"
IRI = "https://w3id.org/tw-civil-service-dc/tw-civil-service-dc/"


def test_framework_list_names_the_seed_framework_with_counts(
    client: FlaskClient, all_scopes: dict[str, str]
) -> None:
    body = client.get("/api/v1/frameworks", headers=all_scopes).get_json()
    assert body["total"] == 1
    (framework,) = body["items"]
    assert framework["key"] == FRAMEWORK
    assert framework["counts"] == {"competency": 5, "knowledge": 16, "skill": 15, "attitude": 5}
    assert framework["href"] == f"/api/v1/frameworks/{FRAMEWORK}"


def test_framework_detail_has_items_levels_grades_and_targets(
    client: FlaskClient, all_scopes: dict[str, str]
) -> None:
    response = client.get(f"/api/v1/frameworks/{FRAMEWORK}", headers=all_scopes)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert "資訊與資料素養" in response.get_data(as_text=True)  # UTF-8, not \\u escapes
    body = response.get_json()
    items = {item["code"]: item for item in body["items"]}
    assert [item["code"] for item in body["items"][:3]] == ["DC1", "DC1-K1", "DC1-K2"]
    assert items["DC1"]["name"] == {
        "zh-TW": "資訊與資料素養",
        "en": "Information and data literacy",
    }
    assert items["DC1-K2"] | {"name": None, "description": None} == {
        "code": "DC1-K2",
        "kind": "knowledge",
        "parent": "DC1",
        "iri": IRI + "DC1-K2",
        "name": None,
        "description": None,
    }
    assert items["AT1"]["kind"] == "attitude" and items["AT1"]["parent"] is None
    scales = {scale["key"]: scale for scale in body["scales"]}
    assert any(len(scale["levels"]) == 3 for scale in scales.values())
    assert any(len(scale["levels"]) == 8 for scale in scales.values())
    grades = {grade["key"]: grade for grade in body["grades"]}
    assert set(grades) == {"junior", "intermediate", "senior", "supervisor"}
    assert grades["senior"]["targets"]["DC2"] == 3


def test_unknown_framework_is_a_json_404(client: FlaskClient, all_scopes: dict[str, str]) -> None:
    response = client.get("/api/v1/frameworks/nope", headers=all_scopes)
    assert response.status_code == 404
    assert response.get_json() == {
        "error": {"code": "not_found", "message": "no framework 'nope'", "field": "framework"}
    }


def test_modules_filtered_by_item_all_carry_an_active_tag_on_it(
    client: FlaskClient, all_scopes: dict[str, str]
) -> None:
    body = client.get("/api/v1/modules?item=DC1-K2&per_page=100", headers=all_scopes).get_json()
    assert body["total"] >= 1
    for module in body["items"]:
        assert "DC1-K2" in {tag["item"] for tag in module["tags"]}
    everything = client.get("/api/v1/modules?per_page=100", headers=all_scopes).get_json()
    assert everything["total"] > body["total"]


def test_module_search_by_text_and_detail_with_tags_and_levels(
    client: FlaskClient, all_scopes: dict[str, str]
) -> None:
    body = client.get("/api/v1/modules?q=C1-T1", headers=all_scopes).get_json()
    (module,) = body["items"]
    detail = client.get(module["href"], headers=all_scopes).get_json()
    assert detail["key"] == module["key"]
    assert detail["training_class"] == "C1"
    assert detail["mastery_score"] == 0.6
    assert detail["tags"] and all(tag["level"] >= 1 for tag in detail["tags"])
    assert all(tag["iri"] == IRI + tag["item"] for tag in detail["tags"])


def test_unknown_module_is_a_json_404(client: FlaskClient, all_scopes: dict[str, str]) -> None:
    for key in ("nope", "a%00b"):
        response = client.get(f"/api/v1/modules/{key}", headers=all_scopes)
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "not_found"
    assert client.get("/api/v1/frameworks/a%00b", headers=all_scopes).status_code == 404


def test_pagination_walks_every_module_once_with_links_and_total(
    client: FlaskClient, all_scopes: dict[str, str]
) -> None:
    first = client.get("/api/v1/modules?per_page=7", headers=all_scopes).get_json()
    total, seen, page = first["total"], [], first
    assert first["links"]["prev"] is None
    while True:
        seen.extend(module["key"] for module in page["items"])
        if page["links"]["next"] is None:
            break
        page = client.get(page["links"]["next"], headers=all_scopes).get_json()
        assert page["links"]["prev"] is not None
    assert len(seen) == len(set(seen)) == total > 7


def test_page_past_the_end_is_empty_and_points_back(
    client: FlaskClient, all_scopes: dict[str, str]
) -> None:
    body = client.get("/api/v1/frameworks?page=5", headers=all_scopes).get_json()
    assert body["items"] == [] and body["total"] == 1
    assert body["links"]["next"] is None
    assert body["links"]["prev"] == "/api/v1/frameworks?page=1&per_page=20"


def test_bad_query_parameters_are_400s_naming_the_field(
    client: FlaskClient, all_scopes: dict[str, str]
) -> None:
    cases = {
        "/api/v1/modules?per_page=101": "per_page",
        "/api/v1/modules?per_page=0": "per_page",
        "/api/v1/modules?page=abc": "page",
        "/api/v1/modules?page=-1": "page",
        "/api/v1/modules?page=99999999999999999999999": "page",
        "/api/v1/modules?item=DC9-X1": "item",
        "/api/v1/modules?item=DC9-K1": "item",
        "/api/v1/modules?colour=red": "colour",
        "/api/v1/frameworks/tw-civil-service-dc?page=1": "page",
        "/api/v1/coverage?framework=": "framework",
        "/api/v1/modules?q=a%00b": "q",
        "/api/v1/persons?sub=%00": "sub",
        "/api/v1/persons?per_page=1e9": "per_page",
    }
    for url, field in cases.items():
        response = client.get(url, headers=all_scopes)
        assert response.status_code == 400, (url, response.get_data(as_text=True))
        error = response.get_json()["error"]
        assert error["code"] == "invalid_input" and error["field"] == field, url
        assert error["message"].startswith(f"{field}: "), url


def test_unknown_api_route_is_a_json_404(client: FlaskClient) -> None:
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_coverage_matches_the_catalog_report(
    client: FlaskClient, all_scopes: dict[str, str]
) -> None:
    body = client.get("/api/v1/coverage", headers=all_scopes).get_json()
    assert body["framework"] == FRAMEWORK
    rows = {row["code"]: row for row in body["rows"]}
    assert rows["DC2-K3"]["covered"] is False
    assert "DC2-K3" in body["uncovered"]
    dc1 = next(s for s in body["competencies"] if s["code"] == "DC1")
    assert dc1["indicators"] == 7
    assert set(rows["DC1"]["hours_by_grade"]) == {g["key"] for g in body["grades"]}
    covered = [row for row in body["rows"] if row["covered"]]
    assert all(row["modules"] or row["courses"] for row in covered)
    assert (
        client.get(f"/api/v1/coverage?framework={FRAMEWORK}", headers=all_scopes).status_code == 200
    )
    assert client.get("/api/v1/coverage?framework=nope", headers=all_scopes).status_code == 404
