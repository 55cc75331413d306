from rest_framework import serializers

from apps.core.models import AuditEvent


class AuditEventOutput(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_repr")
    target_type = serializers.SerializerMethodField()

    class Meta:
        model = AuditEvent
        fields = [
            "id", "created_at", "actor", "action", "target_type", "target_id", "target_repr", "changes", "ip_address",
        ]  # fmt: skip
        read_only_fields = fields

    def get_target_type(self, obj: AuditEvent) -> str | None:
        return f"{obj.target_type.app_label}.{obj.target_type.model}" if obj.target_type else None
