"""A Server-Timing header on every response: the time in the stack and in the database."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.db import connections
from django.http import HttpRequest, HttpResponse


class ServerTimingMiddleware:
    """Times the request below this middleware, and every query it makes on any connection.

    Only the benchmarks install it (bench.settings): it reports durations, never content.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        spent = [0.0, 0]

        def timer(
            execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
        ) -> Any:
            start = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                spent[0] += time.perf_counter() - start
                spent[1] += 1

        start = time.perf_counter()
        with connections["default"].execute_wrapper(timer):
            response = self.get_response(request)
        total = time.perf_counter() - start
        response["Server-Timing"] = (
            f"app;dur={total * 1000:.3f}, db;dur={spent[0] * 1000:.3f}, queries;dur={spent[1]}"
        )
        return response
