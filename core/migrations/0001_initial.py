"""The kernel's tables move from the ops app to core without losing a row.

On an existing database the tables ops created are adopted (state only) and then renamed;
on a fresh one ops' first migrations create them and this takes them over the same way.
Content types (and so permissions and admin history) follow the models.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

MOVED = ("auditlog", "suspiciousactivity", "switch")


def move_content_types(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    for model in MOVED:
        if not ContentType.objects.using(db).filter(app_label="core", model=model).exists():
            ContentType.objects.using(db).filter(app_label="ops", model=model).update(
                app_label="core"
            )


def move_content_types_back(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    ContentType.objects.using(db).filter(app_label="core", model__in=MOVED).update(
        app_label="ops"
    )


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("ops", "0002_ops_state_reports_incidents"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="AuditLog",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                        ("action", models.CharField(db_index=True, max_length=64)),
                        ("target_type", models.CharField(blank=True, max_length=64)),
                        ("target_id", models.CharField(blank=True, max_length=64)),
                        ("ip_address", models.GenericIPAddressField(blank=True, null=True)),
                        ("data", models.JSONField(blank=True, default=dict)),
                        ("actor", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        "db_table": "ops_auditlog",
                        "ordering": ["-created_at", "-id"],
                        "indexes": [models.Index(fields=["target_type", "target_id"], name="audit_target")],
                    },
                ),
                migrations.CreateModel(
                    name="SuspiciousActivity",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                        ("kind", models.CharField(choices=[("login_lockout_account", "Account locked after failed logins"), ("login_lockout_ip", "IP locked after failed logins")], max_length=32)),
                        ("identifier", models.CharField(blank=True, max_length=254)),
                        ("ip_address", models.GenericIPAddressField(blank=True, null=True)),
                        ("failures", models.PositiveIntegerField(default=0)),
                        ("locked_until", models.DateTimeField(blank=True, null=True)),
                        ("reviewed", models.BooleanField(default=False)),
                    ],
                    options={
                        "db_table": "ops_suspiciousactivity",
                        "verbose_name_plural": "suspicious activity",
                        "ordering": ["-created_at", "-id"],
                    },
                ),
                migrations.CreateModel(
                    name="Switch",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("name", models.CharField(max_length=40, unique=True)),
                        ("enabled", models.BooleanField(default=False)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                    ],
                    options={"db_table": "ops_switch"},
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_types, move_content_types_back),
        # Now the tables take core's names (a rename: rows, indexes and sequences are kept).
        migrations.AlterModelTable(name="auditlog", table=None),
        migrations.AlterModelTable(name="suspiciousactivity", table=None),
        migrations.AlterModelTable(name="switch", table=None),
    ]
