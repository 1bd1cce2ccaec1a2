"""Multi-factor login through the real front: Keycloak, Apache (mod_auth_openidc), the hub.

Everything is real: ``sdcc-lab demo --mfa`` (tests/mfa_harness.py, started
once for the session), Debian's Chromium driven by Playwright, one-time codes
computed from the users' secrets as an authenticator app would. The last test
stops Keycloak (then starts a new one, so that later tests still have one).
"""

from __future__ import annotations

import asyncio
import json
import re
import urllib.request
from collections.abc import Iterator

import pytest
from mfa_harness import BRUTE_FORCE_USER, ENROL_USER, MfaPortal
from playwright.sync_api import Browser, BrowserContext, Page, expect

pytestmark = [pytest.mark.mfa, pytest.mark.apache, pytest.mark.hub, pytest.mark.slow]

TIMEOUT = 120_000
# From JupyterLab's page: its server's status, as JupyterLab asks for it (XSRF header).
SERVER_STATUS = """async () => {
  const xsrf = decodeURIComponent((document.cookie.match(/(?:^|; )_xsrf=([^;]*)/) || ['', ''])[1]);
  const r = await fetch('api/status', {headers: {'X-XSRFToken': xsrf}});
  return r.status;
}"""  # ms: a first JupyterLab start on 2 shared cores


@pytest.fixture
def jp_asyncio_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """pytest-jupyter's autouse loop, but not the thread's current one: that is
    Playwright's (sync API), which pytest-jupyter would otherwise close."""
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh browser profile: no cookie of the front, Keycloak or the hub."""
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT)
    yield context
    context.close()


def password_step(page: Page, portal: MfaPortal, user: str, password: str | None = None) -> None:
    """Open the portal: Keycloak's login page (through the front); send the password."""
    page.goto(portal.url)
    assert page.url.startswith(portal.url + "kc/realms/sdcc/"), page.url
    page.fill("#username", user)
    page.fill("#password", portal.password(user) if password is None else password)
    with page.expect_navigation():
        page.click("#kc-login")


def code_step(page: Page, code: str) -> None:
    page.fill("#otp", code)
    with page.expect_navigation():
        page.click("#kc-login")


def into_jupyterlab(page: Page, user: str) -> None:
    """After the login: the hub's spawn form (a local session), then JupyterLab."""
    lab = re.compile(rf"/user/{user}/lab")
    page.wait_for_url(re.compile(rf"/hub/spawn|/user/{user}/lab"))
    if "/hub/spawn" in page.url:
        page.get_by_label("Run locally on the hub's node").check()
        page.get_by_role("button", name="Start").click()
    page.wait_for_url(lab)
    page.locator("#jp-main-dock-panel").wait_for(state="visible")


def hub_cookies(context: BrowserContext) -> list[str]:
    return [c["name"] for c in context.cookies() if c["name"].startswith("jupyterhub-")]


def login(page: Page, portal: MfaPortal, user: str) -> None:
    password_step(page, portal, user)
    code_step(page, portal.code(user))
    page.wait_for_url(re.compile(rf"^{re.escape(portal.url)}(hub|user)/"))


def test_alice_logs_in_with_password_and_code_to_her_jupyterlab(
    mfa_portal: MfaPortal, context: BrowserContext
) -> None:
    page = context.new_page()
    password_step(page, mfa_portal, "alice")
    # The password alone is not enough: Keycloak asks for the one-time code.
    expect(page.locator("#otp")).to_be_visible()
    assert "jupyterhub-session-id" not in hub_cookies(context)
    code_step(page, mfa_portal.code("alice"))
    into_jupyterlab(page, "alice")
    # The server the hub started for this login is alice's.
    config = page.locator("#jupyter-config-data").text_content() or "{}"
    assert json.loads(config)["hubUser"] == "alice"


def test_a_wrong_code_is_refused_and_gives_no_hub_session(
    mfa_portal: MfaPortal, context: BrowserContext
) -> None:
    page = context.new_page()
    password_step(page, mfa_portal, "bob")
    code_step(page, mfa_portal.wrong_code("bob"))
    expect(page.get_by_text("Invalid authenticator code")).to_be_visible()
    expect(page.locator("#otp")).to_be_visible()
    assert page.url.startswith(mfa_portal.url + "kc/")
    assert hub_cookies(context) == []
    # The hub's pages still send this browser to the login.
    page.goto(mfa_portal.url + "hub/home")
    assert page.url.startswith(mfa_portal.url + "kc/realms/sdcc/"), page.url
    expect(page.locator("#password")).to_be_visible()
    assert hub_cookies(context) == []


def test_the_same_code_twice_is_refused(mfa_portal: MfaPortal, browser: Browser) -> None:
    code = mfa_portal.code("bob")
    first, second = browser.new_context(), browser.new_context()
    try:
        page = first.new_page()
        password_step(page, mfa_portal, "bob")
        code_step(page, code)
        page.wait_for_url(re.compile(rf"^{re.escape(mfa_portal.url)}(hub|user)/"))
        # Someone who saw the code (over a shoulder, in a phishing page) tries it at once.
        page = second.new_page()
        password_step(page, mfa_portal, "bob")
        code_step(page, code)
        expect(page.get_by_text("Invalid authenticator code")).to_be_visible()
        assert hub_cookies(second) == []
    finally:
        first.close()
        second.close()


def test_five_wrong_passwords_lock_the_account(
    mfa_portal: MfaPortal, context: BrowserContext
) -> None:
    page = context.new_page()
    for attempt in range(5):
        password_step(page, mfa_portal, BRUTE_FORCE_USER, f"not-the-password-{attempt}")
        expect(page.get_by_text("Invalid username or password")).to_be_visible()
    # Now even the right password is refused: the code is never asked for.
    password_step(page, mfa_portal, BRUTE_FORCE_USER)
    expect(page.locator("#otp")).to_have_count(0)
    expect(page.locator("#password")).to_be_visible()
    assert page.get_by_text(re.compile("temporarily disabled|Invalid username or password")).count()
    assert hub_cookies(context) == []


def test_a_user_without_a_code_enrols_from_keycloaks_qr_page(
    mfa_portal: MfaPortal, context: BrowserContext
) -> None:
    page = context.new_page()
    password_step(page, mfa_portal, ENROL_USER)
    # Keycloak's enrolment page: a QR code, and the secret as text for who cannot scan.
    expect(page.locator("#kc-totp-secret-qr-code")).to_be_visible()
    page.click("#mode-manual")
    secret = page.locator("#kc-totp-secret-key").inner_text().replace(" ", "").strip()
    assert re.fullmatch(r"[A-Z2-7]{16,}", secret), secret
    mfa_portal.enrolled[ENROL_USER] = secret
    page.fill("#totp", mfa_portal.code(ENROL_USER))
    if page.locator("#userLabel").count():
        page.fill("#userLabel", "test phone")
    page.click("#saveTOTPBtn")
    into_jupyterlab(page, ENROL_USER)


def test_logout_from_the_hub_asks_for_password_and_code_again(
    mfa_portal: MfaPortal, context: BrowserContext
) -> None:
    page = context.new_page()
    login(page, mfa_portal, "alice")
    page.goto(mfa_portal.url + "hub/logout")
    # The hub's logout goes to the front's, which ends Keycloak's session too.
    page.wait_for_url(re.compile(rf"^{re.escape(mfa_portal.url)}kc/realms/sdcc/"))
    page.goto(mfa_portal.url + "hub/home")
    assert page.url.startswith(mfa_portal.url + "kc/realms/sdcc/"), page.url
    expect(page.locator("#password")).to_be_visible()
    page.fill("#username", "alice")
    page.fill("#password", mfa_portal.password("alice"))
    with page.expect_navigation():
        page.click("#kc-login")
    expect(page.locator("#otp")).to_be_visible()


def test_keycloak_stopped_the_front_says_so_and_the_hub_keeps_working(
    mfa_portal: MfaPortal, browser: Browser
) -> None:
    """Last in this module: it stops Keycloak (and starts a new one at the end)."""
    signed_in = browser.new_context()
    signed_in.set_default_timeout(TIMEOUT)
    fresh = browser.new_context()
    fresh.set_default_timeout(TIMEOUT)
    try:
        page = signed_in.new_page()
        login(page, mfa_portal, "alice")
        into_jupyterlab(page, "alice")
        mfa_portal.stop_keycloak()

        # A new visitor: the front answers with a page that says what is wrong.
        visitor = fresh.new_page()
        response = visitor.goto(mfa_portal.url)
        assert response is not None and response.status in (502, 503)
        expect(visitor.get_by_text("The portal's login service is not answering")).to_be_visible()

        # Alice's open session goes on: her JupyterLab, her server's API, the hub's pages.
        page.reload()
        page.locator("#jp-main-dock-panel").wait_for(state="visible")
        status = page.evaluate(SERVER_STATUS)
        assert status == 200
        page.goto(mfa_portal.url + "hub/home")
        assert page.url == mfa_portal.url + "hub/home"
        # The hub itself is up, as configurable-http-proxy sees it.
        config = (mfa_portal.data_dir / "hub" / "jupyterhub_config.py").read_text()
        proxy_port = re.search(r"'port': (\d+)", config)
        assert proxy_port is not None
        with urllib.request.urlopen(
            f"http://127.0.0.1:{proxy_port.group(1)}/hub/api", timeout=10
        ) as r:
            assert r.status == 200
    finally:
        signed_in.close()
        fresh.close()
        mfa_portal.restart_keycloak()
