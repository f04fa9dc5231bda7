"""``flask --app plugin platform add``: the command line of a manual Moodle registration."""

from __future__ import annotations

ISSUER = "https://moodle.example.gov.tw"
ADD = [
    "platform",
    "add",
    "--issuer",
    ISSUER,
    "--client-id",
    "moodle-client-7",
    "--auth-login-url",
    ISSUER + "/mod/lti/auth.php",
    "--auth-token-url",
    ISSUER + "/mod/lti/token.php",
    "--key-set-url",
    ISSUER + "/mod/lti/certs.php",
    "--deployment-id",
    "3",
    "--deployment-id",
    "4",
    "--name",
    "公務園 Moodle",
    "--auth-audience",
    ISSUER + "/token-audience",
]
