"""The regional office, mounted at /office/ (config/urls.py).

The site and its model admins live in `elections.office_admin`; this
module is the one name the URLconf and tests import.
"""

from __future__ import annotations

from elections.office_admin import RegionalOfficeSite, office_site

__all__ = ["RegionalOfficeSite", "office_site"]
