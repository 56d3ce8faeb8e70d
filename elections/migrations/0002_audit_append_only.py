"""On PostgreSQL, refuse UPDATE and DELETE on audit events in the database
itself, so even a direct SQL session cannot quietly rewrite the trail
(a superuser can still disable the trigger; verify_audit catches that)."""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION teller_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only';
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER elections_auditevent_append_only
    BEFORE UPDATE OR DELETE ON elections_auditevent
    FOR EACH ROW EXECUTE FUNCTION teller_audit_append_only();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS elections_auditevent_append_only ON elections_auditevent;
DROP FUNCTION IF EXISTS teller_audit_append_only();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("elections", "0001_initial")]

    operations = [migrations.RunPython(forward, backward)]
