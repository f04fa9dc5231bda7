"""Open Badges 3.0 credentials: one per attained competency, aligned, with no personal data."""

from __future__ import annotations

import hashlib
import json

from flask import Flask
from sqlalchemy.orm import Session

from plugin.competencies.case import export_case
from plugin.competencies.framework import get_framework, item_iri
from plugin.rollup.badges import CONTEXT, identity_hash, learner_credentials, recipient_salt
from plugin.rollup.learners import learner_for
from plugin.rollup.models import Learner
from plugin.xapi.assessment import level_iri
from tests.support.app import IRI_BASE
from tests.support.evidence import record_level

ISSUER = "https://lms.example.gov.tw"
SUB = "learner-badge-001"
TOOL = "https://tool.test"
SECRET = "badge-secret"
DC1_INDICATORS = ("DC1-K1", "DC1-K2", "DC1-K3", "DC1-K4", "DC1-S1", "DC1-S2", "DC1-S3")


def _learner(app: Flask, session: Session, codes: tuple[str, ...], level: int = 1) -> Learner:
    return record_level(app, session, ISSUER, SUB, codes, level)


def _credentials(session: Session, learner: Learner, **extra: object) -> list[dict]:
    framework = get_framework(session)
    assert framework is not None
    options = {
        "iri_base": IRI_BASE,
        "issuer_url": TOOL,
        "issuer_name": "數位職能學習工具",
        "secret": SECRET,
        **extra,
    }
    return learner_credentials(session, learner, framework, **options)  # type: ignore[arg-type]


def test_one_credential_per_attained_competency_aligned_with_the_level(app: Flask) -> None:
    with app.extensions["plugin.db"].session_scope() as session:
        learner = _learner(app, session, DC1_INDICATORS)
        credentials = _credentials(session, learner)
        framework = get_framework(session)
        assert framework is not None
        case_items = {
            entry["humanCodingScheme"]: entry
            for entry in export_case(framework, IRI_BASE)["CFItems"]
        }
    assert len(credentials) == 1
    credential = credentials[0]
    assert credential["@context"] == CONTEXT
    assert credential["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert credential["issuer"]["id"] == TOOL and credential["issuer"]["type"] == ["Profile"]
    assert credential["id"].startswith("urn:uuid:")
    assert credential["validFrom"].endswith("Z")
    assert "proof" not in credential
    subject = credential["credentialSubject"]
    assert subject["type"] == ["AchievementSubject"]
    achievement = subject["achievement"]
    assert achievement["type"] == ["Achievement"]
    assert achievement["achievementType"] == "Competency"
    assert achievement["name"] == "資訊與資料素養"
    assert achievement["criteria"]["narrative"]
    dc1_iri = item_iri(IRI_BASE, "tw-civil-service-dc", "DC1")
    (alignment,) = achievement["alignment"]
    assert alignment["type"] == ["Alignment"]
    assert alignment["targetType"] == "CFItem"
    assert alignment["targetUrl"] == dc1_iri == case_items["DC1"]["uri"]
    assert alignment["targetCode"] == "DC1"
    assert alignment["targetFramework"]
    (result,) = subject["result"]
    assert result["type"] == ["Result"]
    assert result["achievedLevel"] == level_iri(IRI_BASE, "tw-civil-service-dc", 1)
    (description,) = achievement["resultDescription"]
    assert description["resultType"] == "RubricCriterionLevel"
    assert result["resultDescription"] == description["id"]
    level_ids = [level["id"] for level in description["rubricCriterionLevel"]]
    assert result["achievedLevel"] in level_ids and len(level_ids) == 3


def test_no_credential_below_level_one(app: Flask) -> None:
    with app.extensions["plugin.db"].session_scope() as session:
        # Evidence on one indicator only: DC1 itself stays at level 0.
        learner = _learner(app, session, ("DC1-K2",))
        assert _credentials(session, learner) == []
        stranger = learner_for(session, ISSUER, "nobody")
        assert _credentials(session, stranger) == []


def test_the_subject_is_a_salted_hash_and_no_names_unless_asked(app: Flask) -> None:
    with app.extensions["plugin.db"].session_scope() as session:
        learner = _learner(app, session, DC1_INDICATORS)
        plain = _credentials(session, learner, recipient_name="王小明")
        again = _credentials(session, learner, recipient_name="王小明")
        named = _credentials(session, learner, send_names=True, recipient_name="王小明")
        salt = recipient_salt(SECRET, learner)
    assert plain == again  # stable for the same data
    text = json.dumps(plain, ensure_ascii=False)
    for secret_value in (SUB, ISSUER, "王小明"):
        assert secret_value not in text
    (identity,) = plain[0]["credentialSubject"]["identifier"]
    assert identity["hashed"] is True and identity["salt"] == salt
    expected = "sha256$" + hashlib.sha256(f"{ISSUER}|{SUB}{salt}".encode()).hexdigest()
    assert identity["identityHash"] == expected == identity_hash(ISSUER, SUB, salt)
    names = [i for i in named[0]["credentialSubject"]["identifier"] if i["identityType"] == "name"]
    assert names == [
        {
            "type": "IdentityObject",
            "identityHash": "王小明",
            "identityType": "name",
            "hashed": False,
        }
    ]
