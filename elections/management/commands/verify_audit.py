"""Recompute the audit chain and name the first event that does not fit."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from elections.models import AuditEvent
from elections.models.audit import verify_chain


class Command(BaseCommand):
    help = "Check the audit trail's hash chain from the first event to the last."

    def handle(self, *args: Any, **options: Any) -> None:
        problem = verify_chain()
        if problem is not None:
            raise CommandError(f"Audit chain broken at event #{problem.seq}: {problem.problem}.")
        total = AuditEvent.objects.count()
        self.stdout.write(
            self.style.SUCCESS(f"Audit chain verified: {total} events, all in order.")
        )
