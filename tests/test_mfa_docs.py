"""The admin guide shows the MFA front's files as the demo and the tests run them."""

from __future__ import annotations

import json
import re
from pathlib import Path

from sdcc_lab.front.realm import realm_representation

ROOT = Path(__file__).resolve().parents[1]
FRONT = ROOT / "sdcc_lab" / "front"


def guide_section() -> str:
    text = (ROOT / "docs" / "admin-guide.md").read_text()
    start = text.index("## Multi-factor login with Keycloak\n")
    return text[start : text.index("\n## ", start + 1)]


def code_blocks(section: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)\n```", section, flags=re.S)


def test_the_guide_shows_the_realm_and_the_apache_configuration_verbatim() -> None:
    section = guide_section()
    assert code_blocks(section, "json") == [(FRONT / "realm.json").read_text().rstrip("\n")]
    assert code_blocks(section, "apache") == [(FRONT / "httpd.conf").read_text().rstrip("\n")]


def test_the_realm_file_asks_for_what_the_guide_says() -> None:
    realm = realm_representation("https://jupyter.example.org/", "s3cret", [], "external")
    assert realm["otpPolicyType"] == "totp" and realm["otpPolicyDigits"] == 6
    assert realm["otpPolicyPeriod"] == 30 and realm["otpPolicyAlgorithm"] == "HmacSHA1"
    assert realm["attributes"]["realmReusableOtpCode"] == "false"
    assert realm["bruteForceProtected"] is True and realm["failureFactor"] == 5
    assert realm["accessTokenLifespan"] <= 300
    (client,) = realm["clients"]
    assert client["redirectUris"] == ["https://jupyter.example.org/oidc/callback"]
    assert not client["publicClient"] and not client["directAccessGrantsEnabled"]
    audience = [
        m for m in client["protocolMappers"] if m["protocolMapper"] == "oidc-audience-mapper"
    ]
    assert audience[0]["config"]["included.custom.audience"] == "sdcc-hub"


def test_values_with_quotes_stay_data_in_the_realm() -> None:
    realm = realm_representation('https://x.example.org/"a\\', 'se"cret', [])
    assert realm["clients"][0]["secret"] == 'se"cret'
    assert json.loads(json.dumps(realm))["clients"][0]["redirectUris"] == [
        'https://x.example.org/"a\\oidc/callback'
    ]
