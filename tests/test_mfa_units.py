"""``sdcc-lab demo --mfa``: what it refuses before anything starts, and its small parts."""

from __future__ import annotations

import base64
import json
import urllib.parse
from pathlib import Path

import pyotp
import pytest

from sdcc_lab import cli
from sdcc_lab.demo import DemoError, run_demo
from sdcc_lab.front import keycloak
from sdcc_lab.front.realm import (
    FrontUser,
    new_totp_secret,
    new_user,
    raw_secret,
    user_representation,
)
from sdcc_lab.front.stack import provisioning_uri, read_credentials, write_credentials


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mfa": True, "ip": "0.0.0.0", "insecure_allow_remote": True}, "127.0.0.1 only"),
        ({"mfa": True, "mfa_enrol": "erin"}, "erin, who are not in --users"),
        ({"mfa_enrol": "bob"}, "--mfa-enrol goes with --mfa"),
        ({"mfa": True, "mfa_enrol": "Bob!"}, "is not allowed"),
    ],
)
def test_mfa_refusals_come_before_anything_starts(
    tmp_path: Path, kwargs: dict[str, object], message: str
) -> None:
    data = tmp_path / "data"
    with pytest.raises(DemoError, match=message):
        run_demo(data_dir=str(data), **kwargs)  # type: ignore[arg-type]
    assert not data.exists()


def test_the_cli_says_what_is_wrong(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["demo", "--mfa-enrol", "bob", "--data-dir", str(tmp_path / "d")])
    assert code == 2
    assert "--mfa-enrol goes with --mfa" in capsys.readouterr().err


def test_a_secret_gives_the_codes_keycloak_computes() -> None:
    """Keycloak keys HMAC with the stored value's bytes; the app gets their base32."""
    raw, b32 = new_totp_secret()
    assert raw_secret(b32) == raw
    assert base64.b32decode(b32 + "=" * (-len(b32) % 8)) == raw.encode()
    credential = user_representation(FrontUser("alice", "pw", b32))
    otp = next(c for c in credential["credentials"] if c["type"] == "otp")
    assert json.loads(otp["secretData"])["value"] == raw
    assert json.loads(otp["credentialData"])["digits"] == 6
    assert len(pyotp.TOTP(b32).now()) == 6


def test_a_user_who_enrols_gets_keycloaks_qr_page_and_no_secret() -> None:
    user = new_user("bob", enrol=True)
    assert user.totp_secret == "" and user.enrols
    representation = user_representation(user)
    assert representation["requiredActions"] == ["CONFIGURE_TOTP"]
    assert [c["type"] for c in representation["credentials"]] == ["password"]


def test_credentials_file_is_private_and_a_damaged_one_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "credentials.json"
    alice = new_user("alice")
    write_credentials(path, [alice, new_user("bob", enrol=True)])
    assert path.stat().st_mode & 0o777 == 0o600
    kept = read_credentials(path)
    assert kept["alice"] == alice and kept["bob"].totp_secret == ""
    assert json.loads(path.read_text())["alice"] == {
        "password": alice.password,
        "totp_secret": alice.totp_secret,
    }
    path.write_text("{not json")
    assert read_credentials(path) == {}


def test_the_qr_code_holds_what_an_authenticator_app_reads() -> None:
    user = new_user("alice")
    uri = urllib.parse.urlparse(provisioning_uri(user))
    query = dict(urllib.parse.parse_qsl(uri.query))
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    assert query["secret"] == user.totp_secret
    assert (query["digits"], query["period"], query["algorithm"]) == ("6", "30", "SHA1")


def test_without_maven_or_its_copy_keycloak_cannot_be_fetched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(keycloak, "m2_zip", lambda: tmp_path / "missing.zip")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(keycloak.KeycloakError, match="Maven"):
        keycloak.fetch_keycloak(tmp_path / "cache")
