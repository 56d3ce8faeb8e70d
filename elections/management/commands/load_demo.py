"""Load the invented demo group, once; print the logins."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from elections.demo import DEMO_PASSWORD, DemoLogins, existing_logins, load_demo


class Command(BaseCommand):
    help = "Load the demo: an invented council group of 52 with three contests."

    def handle(self, *args: Any, **options: Any) -> None:
        logins = existing_logins()
        if logins is not None:
            self.stdout.write("The demo is already loaded.")
        else:
            logins = load_demo()
            self.stdout.write(
                self.style.SUCCESS("Demo loaded: Ashby Vale Council Group, 52 councillors.")
            )
        self._print(logins)

    def _print(self, logins: DemoLogins) -> None:
        self.stdout.write(f"Log in at http://127.0.0.1:8000/ (password for all: {DEMO_PASSWORD})")
        for email in logins.councillors:
            self.stdout.write(f"  councillor        {email}")
        self.stdout.write(f"  secretary         {logins.secretary}")
        self.stdout.write(f"  observer          {logins.observer}")
        self.stdout.write(f"  regional official {logins.official}")
        self.stdout.write(f"  site admin        {logins.admin} (/admin/)")
