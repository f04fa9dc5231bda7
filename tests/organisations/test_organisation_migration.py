"""Migration 0012: existing data moves into the default organisation, the demo catalog into none."""

from __future__ import annotations

from sqlalchemy import Engine, text

from plugin.core.migrate import upgrade_database

NOW = "2026-11-30 00:00:00.000000+00:00"


def _seed_before_organisations(engine: Engine) -> None:
    upgrade_database(engine, "0011")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO lti_registrations (id, issuer, client_id, name, auth_login_url, "
                "auth_token_url, auth_audience, key_set_url, frame_origins, enabled, origin, "
                "created_at) VALUES (7, 'https://lms.example', 'c', 'LMS', 'https://lms.example/a',"
                " 'https://lms.example/t', '', 'https://lms.example/k', '', true, 'manual', :now)"
            ),
            {"now": NOW},
        )
        for key, origin in (("seeded", "seed"), ("edited", "seed-edited"), ("own", "designer")):
            connection.execute(
                text(
                    "INSERT INTO competency_modules (key, origin, title_zh, title_en, "
                    "description_zh, description_en, hours, activity_iri, content_markdown_zh, "
                    "content_markdown_en, content_html_zh, content_html_en, external_url, "
                    "external_display, created_at, updated_at) VALUES (:key, :origin, 't', 't', "
                    "'', '', 0, :iri, '', '', '', '', '', 'window', :now, :now)"
                ),
                {"key": key, "origin": origin, "iri": f"https://x.example/{key}", "now": NOW},
            )
        connection.execute(
            text(
                "INSERT INTO api_tokens (prefix, token_hash, name, scopes, created_at) "
                "VALUES ('abcd1234', :hash, 'hr', '[\"read:attainment\"]', :now)"
            ),
            {"hash": "0" * 64, "now": NOW},
        )
    upgrade_database(engine)


def _owners(engine: Engine) -> dict[str, object]:
    with engine.connect() as connection:
        default_id = connection.execute(
            text("SELECT id FROM organisations WHERE key = 'default'")
        ).scalar_one()
        modules = dict(
            connection.execute(text("SELECT key, organisation_id FROM competency_modules")).all()
        )
        return {
            "default": default_id,
            "registration": connection.execute(
                text("SELECT organisation_id FROM lti_registrations")
            ).scalar_one(),
            "modules": modules,
            "token": connection.execute(
                text("SELECT organisation_id FROM api_tokens")
            ).scalar_one(),
        }


def test_existing_registrations_designer_modules_and_tokens_join_the_default_organisation(
    engine: Engine,
) -> None:
    _seed_before_organisations(engine)

    owners = _owners(engine)

    default = owners["default"]
    assert owners["registration"] == default
    assert owners["token"] == default
    assert owners["modules"] == {"seeded": None, "edited": None, "own": default}


def test_a_new_organisation_after_the_migration_gets_a_fresh_id(engine: Engine) -> None:
    _seed_before_organisations(engine)
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO organisations (key, name, created_at) VALUES ('moda', 'M', :now)"),
            {"now": NOW},
        )
        ids = connection.execute(text("SELECT id FROM organisations ORDER BY id")).scalars().all()
    assert len(set(ids)) == 2
