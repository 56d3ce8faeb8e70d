"""Helpers for the roll import tests: build a CSV, upload it, apply a preview."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from elections.models import Body

HEADER = "name,email,ward,gender"


def csv_text(*lines: str, header: str = HEADER) -> str:
    return "\n".join([header, *lines]) + "\n"


@pytest.fixture
def upload(client: Client, body: Body) -> Callable[..., Any]:
    """POST a roll file to the import page; returns the response."""

    def post(content: str | bytes, *, name: str = "roll.csv", to: Body | None = None) -> Any:
        data = content.encode() if isinstance(content, str) else content
        file = SimpleUploadedFile(name, data, content_type="text/csv")
        return client.post(reverse("roll_import", args=[(to or body).pk]), {"file": file})

    return post


@pytest.fixture
def apply(client: Client, body: Body) -> Callable[..., Any]:
    """POST a preview's token to the apply step; returns the response."""

    def post(token: str, *, to: Body | None = None, follow: bool = False) -> Any:
        url = reverse("roll_import_apply", args=[(to or body).pk])
        return client.post(url, {"token": token}, follow=follow)

    return post
