"""The tool's RSA signing keys: stored encrypted, published as JWKS, rotated with grace."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwcrypto.jwk import JWK
from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.core.db import utcnow
from plugin.core.errors import ConfigError
from plugin.lti.models import ToolKey

ACTIVE = "active"
RETIRING = "retiring"
RETIRED = "retired"
KEY_BITS = 2048


@dataclass(frozen=True)
class SigningKey:
    """A private key ready to sign with."""

    kid: str
    private_pem: str
    public_jwk: dict[str, Any]


def _fernet(secret_key: str) -> Fernet:
    """A Fernet key derived from the app secret (changing the secret makes keys unreadable)."""
    digest = hashlib.sha256(b"lti-tool-keys\x00" + secret_key.encode("utf-8")).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def generate_key(session: Session, secret_key: str) -> ToolKey:
    """Create a new active RSA key (kid = its RFC 7638 thumbprint)."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    jwk = JWK.from_pem(pem)
    kid = jwk.thumbprint()
    public = json.loads(jwk.export_public())
    public.update({"kid": kid, "alg": "RS256", "use": "sig"})
    key = ToolKey(
        kid=kid,
        private_key_encrypted=_fernet(secret_key).encrypt(pem).decode("ascii"),
        public_jwk=public,
        status=ACTIVE,
    )
    session.add(key)
    session.flush()
    return key


def active_key(session: Session) -> ToolKey | None:
    """The newest active key, if any."""
    return session.scalars(
        select(ToolKey).where(ToolKey.status == ACTIVE).order_by(ToolKey.id.desc()).limit(1)
    ).first()


def ensure_active_key(session: Session, secret_key: str) -> ToolKey:
    """The active key, created on first use."""
    return active_key(session) or generate_key(session, secret_key)


def signing_key(session: Session, secret_key: str) -> SigningKey:
    """The active key's private half, decrypted."""
    key = ensure_active_key(session, secret_key)
    try:
        pem = _fernet(secret_key).decrypt(key.private_key_encrypted.encode("ascii"))
    except InvalidToken:
        raise ConfigError(
            f"tool key {key.kid} cannot be decrypted: secret_key changed since it was made "
            "(restore the old secret, or run: flask --app plugin keys rotate --force-new)"
        ) from None
    return SigningKey(kid=key.kid, private_pem=pem.decode("ascii"), public_jwk=key.public_jwk)


def rotate_keys(session: Session, secret_key: str, grace: timedelta) -> tuple[ToolKey, list[str]]:
    """Add a new active key; earlier active keys retire after ``grace`` (still published)."""
    now = utcnow()
    retired = []
    for key in session.scalars(select(ToolKey).where(ToolKey.status == ACTIVE)):
        key.status = RETIRING
        key.retire_after = now + grace
        retired.append(key.kid)
    _expire_retiring(session, now)
    new_key = generate_key(session, secret_key)
    return new_key, retired


def _expire_retiring(session: Session, now: datetime) -> None:
    for key in session.scalars(select(ToolKey).where(ToolKey.status == RETIRING)):
        if key.retire_after is not None and key.retire_after <= now:
            key.status = RETIRED


def public_jwks(session: Session) -> dict[str, list[dict[str, Any]]]:
    """The JWKS: active keys and retiring keys still in their grace period."""
    now = utcnow()
    keys = session.scalars(
        select(ToolKey).where(ToolKey.status.in_((ACTIVE, RETIRING))).order_by(ToolKey.id.desc())
    )
    published = [
        key.public_jwk
        for key in keys
        if key.status == ACTIVE or (key.retire_after is not None and key.retire_after > now)
    ]
    return {"keys": published}


def list_keys(session: Session) -> list[ToolKey]:
    """Every key, newest first."""
    return list(session.scalars(select(ToolKey).order_by(ToolKey.id.desc())))
