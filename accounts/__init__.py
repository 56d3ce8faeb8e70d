"""People: a user model that logs in by email, made by secretaries and admins."""
