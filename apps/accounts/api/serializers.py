from __future__ import annotations

from rest_framework import serializers

from apps.accounts.models import Membership, Team, User


class MemberOutput(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username")
    display_name = serializers.CharField(source="user.display_name")

    class Meta:
        model = Membership
        fields = ["username", "display_name", "role"]
        read_only_fields = fields


class TeamOutput(serializers.ModelSerializer):
    members = MemberOutput(source="memberships", many=True, read_only=True)

    class Meta:
        model = Team
        fields = ["slug", "name", "description", "contact_email", "created_at", "members"]
        read_only_fields = fields


class TeamCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    slug = serializers.SlugField(max_length=120, required=False, allow_blank=True)
    description = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    contact_email = serializers.EmailField(required=False, allow_blank=True)


class MyTeamOutput(serializers.ModelSerializer):
    slug = serializers.CharField(source="team.slug")
    name = serializers.CharField(source="team.name")

    class Meta:
        model = Membership
        fields = ["slug", "name", "role"]
        read_only_fields = fields


class MeOutput(serializers.ModelSerializer):
    roles = serializers.SerializerMethodField()
    teams = MyTeamOutput(source="memberships", many=True, read_only=True)

    class Meta:
        model = User
        fields = ["username", "display_name", "email", "roles", "teams"]
        read_only_fields = fields

    def get_roles(self, obj: User) -> list[str]:
        return sorted(obj.role_names)
