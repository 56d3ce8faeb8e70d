"""Views only route: they load, check access, call a model method or service."""
