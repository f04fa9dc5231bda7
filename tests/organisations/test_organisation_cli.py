"""``flask --app plugin organisation …`` and the organisation flags of platform and token."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from plugin.lti.models import Registration
from plugin.organisations.models import ApiToken, Organisation
from tests.support.platform_cli import ADD, ISSUER


def _registration_organisation(app: Flask) -> str:
    with app.extensions["plugin.db"].session_scope() as session:
        return session.scalars(select(Registration)).one().organisation.key


def test_organisation_add_then_list_shows_it_beside_the_default(app: Flask) -> None:
    runner = app.test_cli_runner()
    added = runner.invoke(args=["organisation", "add", "moda", "--name", "數位發展部"])
    assert added.exit_code == 0, added.output

    listing = runner.invoke(args=["organisation", "list"])

    assert listing.exit_code == 0, listing.output
    assert listing.output.splitlines()[:2] == ["default\tDefault organisation", "moda\t數位發展部"]


def test_an_organisation_key_in_use_or_not_a_slug_is_refused_by_name(app: Flask) -> None:
    runner = app.test_cli_runner()
    assert runner.invoke(args=["organisation", "add", "moda", "--name", "A"]).exit_code == 0

    again = runner.invoke(args=["organisation", "add", "moda", "--name", "B"])
    bad = runner.invoke(args=["organisation", "add", "Mo da", "--name", "C"])

    assert again.exit_code != 0 and "'moda' exists already" in again.output
    assert bad.exit_code != 0 and "organisation key" in bad.output
    with app.extensions["plugin.db"].session_scope() as session:
        names = session.scalars(select(Organisation.name).order_by(Organisation.id)).all()
    assert names == ["Default organisation", "A"]


def test_a_platform_added_without_an_organisation_joins_the_default_one(app: Flask) -> None:
    added = app.test_cli_runner().invoke(args=ADD)

    assert added.exit_code == 0, added.output
    assert "organisation=default" in added.output
    assert _registration_organisation(app) == "default"


def test_platform_add_with_organisation_places_it_there_and_assign_moves_it(app: Flask) -> None:
    runner = app.test_cli_runner()
    runner.invoke(args=["organisation", "add", "moda", "--name", "數位發展部"])
    runner.invoke(args=["organisation", "add", "cpa", "--name", "人事行政總處"])

    added = runner.invoke(args=[*ADD, "--organisation", "moda"])
    assert added.exit_code == 0, added.output
    assert _registration_organisation(app) == "moda"

    moved = runner.invoke(args=["organisation", "assign", "cpa", "--issuer", ISSUER])
    assert moved.exit_code == 0, moved.output
    assert _registration_organisation(app) == "cpa"
    listing = runner.invoke(args=["platform", "list"])
    assert "organisation=cpa" in listing.output


def test_platform_add_naming_an_unknown_organisation_registers_nothing(app: Flask) -> None:
    added = app.test_cli_runner().invoke(args=[*ADD, "--organisation", "nowhere"])

    assert added.exit_code != 0
    assert "no organisation 'nowhere'" in added.output
    with app.extensions["plugin.db"].session_scope() as session:
        assert session.scalars(select(Registration)).all() == []


def test_a_token_created_for_an_organisation_belongs_to_it_and_one_without_to_the_operator(
    app: Flask,
) -> None:
    runner = app.test_cli_runner()
    runner.invoke(args=["organisation", "add", "moda", "--name", "數位發展部"])
    scope = ["--scope", "read:attainment"]

    own = runner.invoke(args=["token", "create", "--name", "hr", *scope, "--organisation", "moda"])
    operator = runner.invoke(args=["token", "create", "--name", "ops", *scope])

    assert own.exit_code == 0 and operator.exit_code == 0, own.output + operator.output
    with app.extensions["plugin.db"].session_scope() as session:
        owners = {
            name: key
            for name, key in session.execute(
                select(ApiToken.name, Organisation.key).outerjoin(
                    Organisation, Organisation.id == ApiToken.organisation_id
                )
            )
        }
    assert owners == {"hr": "moda", "ops": None}


def test_token_list_says_whose_data_each_token_reads(app: Flask) -> None:
    runner = app.test_cli_runner()
    runner.invoke(args=["organisation", "add", "moda", "--name", "數位發展部"])
    scope = ["--scope", "read:persons"]
    runner.invoke(args=["token", "create", "--name", "hr", *scope, "--organisation", "moda"])
    runner.invoke(args=["token", "create", "--name", "ops", *scope])

    listing = runner.invoke(args=["token", "list"])

    assert listing.exit_code == 0, listing.output
    lines = {line.split("\t")[2]: line.split("\t") for line in listing.output.splitlines()}
    assert lines["hr"][4] == "organisation=moda"
    assert lines["ops"][4] == "operator (every organisation)"
