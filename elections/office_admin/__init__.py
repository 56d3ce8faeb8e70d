"""The regional office: an admin site for regional officials (see site.py)."""

from elections.office_admin import admins as _admins  # noqa: F401  (registers the model admins)
from elections.office_admin.site import RegionalOfficeSite, office_site

__all__ = ["RegionalOfficeSite", "office_site"]
