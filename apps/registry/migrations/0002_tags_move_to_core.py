"""Workload tags move to core.Tag, shared with the library and governance. The names are kept."""

from django.db import migrations, models


def copy_tags(apps, schema_editor):  # type: ignore[no-untyped-def]
    Workload = apps.get_model("registry", "Workload")
    CoreTag = apps.get_model("core", "Tag")
    for workload in Workload.objects.prefetch_related("tags"):
        names = [tag.name for tag in workload.tags.all()]
        if names:
            workload.new_tags.set(CoreTag.objects.get_or_create(name=name)[0] for name in names)


def copy_tags_back(apps, schema_editor):  # type: ignore[no-untyped-def]
    Workload = apps.get_model("registry", "Workload")
    OldTag = apps.get_model("registry", "Tag")
    for workload in Workload.objects.prefetch_related("new_tags"):
        names = [tag.name for tag in workload.new_tags.all()]
        if names:
            workload.tags.set(OldTag.objects.get_or_create(name=name)[0] for name in names)


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0002_tag"),
        ("registry", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="workload",
            name="new_tags",
            field=models.ManyToManyField(blank=True, related_name="+", to="core.tag"),
        ),
        migrations.RunPython(copy_tags, copy_tags_back),
        migrations.RemoveField(model_name="workload", name="tags"),
        migrations.DeleteModel(name="Tag"),
        migrations.RenameField(model_name="workload", old_name="new_tags", new_name="tags"),
        migrations.AlterField(
            model_name="workload",
            name="tags",
            field=models.ManyToManyField(blank=True, related_name="workloads", to="core.tag"),
        ),
    ]
