# Written on 2026-11-25: pull sources' Authorization headers encrypted at rest.

import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import migrations, models
from django.utils.crypto import salted_hmac

# apps.telemetry.models.AUTH_HEADER_PURPOSE and apps.core.crypto's key derivation when this was written
# (a migration must not import app code, which may change after it).
PURPOSE = "apps.telemetry.pull-source.auth-header"


def _fernets():
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    derived = (salted_hmac(PURPOSE, "fernet", secret=key, algorithm="sha256").digest() for key in keys)
    return MultiFernet([Fernet(base64.urlsafe_b64encode(raw)) for raw in derived])


def encrypt_headers(apps, schema_editor):
    PullSource = apps.get_model("telemetry", "PullSource")
    fernets = _fernets()
    for source in PullSource.objects.exclude(auth_header="").only("pk", "auth_header"):
        encrypted = fernets.encrypt(source.auth_header.encode()).decode()
        PullSource.objects.filter(pk=source.pk).update(auth_header_encrypted=encrypted)


def decrypt_headers(apps, schema_editor):
    """Back to plain text; a header no key can read any more is dropped (the team sets it again)."""
    PullSource = apps.get_model("telemetry", "PullSource")
    fernets = _fernets()
    for source in PullSource.objects.exclude(auth_header_encrypted="").only("pk", "auth_header_encrypted"):
        try:
            header = fernets.decrypt(source.auth_header_encrypted.encode()).decode()[:500]
        except InvalidToken:
            header = ""
        PullSource.objects.filter(pk=source.pk).update(auth_header=header)


class Migration(migrations.Migration):
    dependencies = [
        ("telemetry", "0008_monthly_category_rollups"),
    ]

    operations = [
        migrations.AddField(
            model_name="pullsource",
            name="auth_header_encrypted",
            field=models.TextField(
                blank=True,
                editable=False,
                help_text="The Authorization header sent, e.g. 'Bearer …', encrypted (auth_header_set); empty: none.",
            ),
        ),
        migrations.RunPython(encrypt_headers, decrypt_headers),
        migrations.RemoveField(model_name="pullsource", name="auth_header"),
    ]
