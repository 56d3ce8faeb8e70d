"""Steps the journeys share: logging in through the real form, with the
authenticator code that officials must give (config.security)."""

from __future__ import annotations

import time

from allauth.mfa import app_settings
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from allauth.mfa.utils import decrypt
from playwright.sync_api import expect

from accounts.models import User
from tests.browser.conftest import Journey
from tests.conftest import PASSWORD


def authenticator_code(user: User) -> str:
    """The code the user's authenticator app shows now.

    tests/conftest.py enrols every official in TOTP as they are made; this
    reads that secret back, as the app on their phone holds it.
    """
    authenticator = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
    secret = decrypt(authenticator.data["secret"])
    period = app_settings.TOTP_PERIOD
    # A code typed in the last moment of its period may reach the server in
    # the next one, where it no longer counts: wait that moment out (under
    # two seconds, now and then) rather than fail by chance on a real clock.
    left = period - time.time() % period
    if left < 2:
        time.sleep(left)
    return format_hotp_value(hotp_value(secret, int(time.time()) // period))


def log_in(trip: Journey, user: User) -> None:
    """Logs in through allauth's form, and its code step where the user has one."""
    page = trip.page
    trip.goto("/")  # the home page sends a visitor to log in
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    trip.check("log in")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    if Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
        code = page.get_by_label("Code")
        expect(code).to_be_visible()
        trip.check("authenticator code")
        code.fill(authenticator_code(user))
        page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
