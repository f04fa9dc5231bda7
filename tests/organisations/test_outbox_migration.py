"""Migration 0014: outbox rows of a learner's attempt are attributed to the organisation of
the attempt's launch; rows without one stay the operator's."""

from __future__ import annotations

from sqlalchemy import Engine, text

from plugin.core.migrate import upgrade_database

NOW = "2026-12-01 00:00:00.000000+00:00"
LATER = "2026-12-02 00:00:00.000000+00:00"


def _seed_before_attribution(engine: Engine) -> None:
    """At 0012: two organisations, one launch's attempt with a statement, one loose statement."""
    upgrade_database(engine, "0012")
    with engine.begin() as connection:
        run = connection.execute
        run(text("INSERT INTO organisations (id, key, name, created_at) VALUES "
                 "(2, 'moda', 'M', :now)"), {"now": NOW})  # fmt: skip
        run(
            text(
                "INSERT INTO lti_registrations (id, issuer, client_id, name, auth_login_url, "
                "auth_token_url, auth_audience, key_set_url, frame_origins, enabled, origin, "
                "organisation_id, created_at) VALUES (5, 'https://lms.example', 'c', 'LMS', "
                "'https://lms.example/a', 'https://lms.example/t', '', 'https://lms.example/k', "
                "'', true, 'manual', 2, :now)"
            ),
            {"now": NOW},
        )
        run(text("INSERT INTO lti_deployments (id, registration_id, deployment_id, active, "
                 "first_seen_at) VALUES (6, 5, 'd', true, :now)"), {"now": NOW})  # fmt: skip
        run(
            text(
                "INSERT INTO lti_people (id, issuer, sub, name, given_name, family_name, email, "
                "locale, created_at, last_launch_at) VALUES (7, 'https://lms.example', 's', '', "
                "'', '', '', '', :now, :now)"
            ),
            {"now": NOW},
        )
        run(
            text(
                "INSERT INTO lti_launches (id, person_id, deployment_id, message_type, role, "
                "roles, context_id, context_title, resource_link_id, resource_link_title, "
                "locale, claims, created_at, expires_at) VALUES ('launch-1', 7, 6, "
                "'LtiResourceLinkRequest', 'learner', '[]', '', '', 'rl', '', '', '{}', :now, "
                ":later)"
            ),
            {"now": NOW, "later": LATER},
        )
        for attempt_id, launch_id in ((1, "launch-1"), (2, "launch-gone")):
            run(
                text(
                    "INSERT INTO xapi_attempts (id, registration, person_issuer, person_sub, "
                    "module_key, activity_iri, launch_id, started_at, progress, outcome) VALUES "
                    "(:id, :reg, 'https://lms.example', 's', 'm', 'https://x.example/m', "
                    ":launch, :now, 0, '')"
                ),
                {"id": attempt_id, "reg": f"reg-{attempt_id}", "launch": launch_id, "now": NOW},
            )
        for row_id, attempt_id in ((1, 1), (2, 2), (3, None)):
            run(
                text(
                    "INSERT INTO xapi_outbox (id, statement_id, target, attempt_id, verb, "
                    "statement, status, attempts, created_at, next_attempt_at, last_error) "
                    "VALUES (:id, :sid, 'lrs', :attempt, 'v', '{}', 'pending', 0, :now, :now, '')"
                ),
                {"id": row_id, "sid": f"s-{row_id}", "attempt": attempt_id, "now": NOW},
            )
    upgrade_database(engine)


def test_attempt_statements_take_their_launchs_organisation_and_others_stay_unattributed(
    engine: Engine,
) -> None:
    _seed_before_attribution(engine)

    with engine.connect() as connection:
        owners = dict(connection.execute(text("SELECT id, organisation_id FROM xapi_outbox")).all())

    # Row 2's attempt names a launch that is gone (purged): nothing to attribute it by.
    assert owners == {1: 2, 2: None, 3: None}
