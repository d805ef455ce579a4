"""Organization settings over the API (GET/PATCH /api/v1/organizations/{id})."""

from __future__ import annotations

from rest_framework import serializers

from web.services import SCORING_RULES


class BrandingSerializer(serializers.Serializer):
    primary_color = serializers.RegexField(r"^#[0-9a-fA-F]{6}$", required=False,
                                           error_messages={"invalid": "Use a colour like #0f766e."})
    accent_color = serializers.RegexField(r"^#[0-9a-fA-F]{6}$", required=False,
                                          error_messages={"invalid": "Use a colour like #0f766e."})
    language = serializers.ChoiceField(choices=["en", "sw"], required=False)
    sms_sender_id = serializers.RegexField(r"^[A-Za-z0-9 ]{0,11}$", required=False, allow_blank=True,
                                           error_messages={"invalid": "At most 11 letters, digits or spaces."})
    tagline = serializers.CharField(max_length=120, required=False, allow_blank=True)
    logo_url = serializers.CharField(read_only=True)


def _scoring_fields() -> dict:
    """Types only: the ranges are gamification's (`scoring_rules_validate`, run by the service), so
    the API and the settings page give the same answer. The limits are documented in the schema."""
    fields = {}
    for key, (kind, low, high) in SCORING_RULES.items():
        if kind is bool:  # issue 18: goals_count
            fields[key] = serializers.BooleanField(required=False, help_text="true or false.")
            continue
        field = serializers.IntegerField if kind is int else serializers.FloatField
        fields[key] = field(required=False, help_text=f"Between {low} and {high}.")
    return fields


ScoringSerializer = type("ScoringSerializer", (serializers.Serializer,), _scoring_fields())


class OrganizationSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    slug = serializers.CharField(read_only=True)
    type = serializers.CharField(read_only=True)
    name = serializers.CharField(max_length=120, required=False)
    branding = BrandingSerializer(required=False)
    language = serializers.ChoiceField(choices=["en", "sw"], required=False)
    time_zone = serializers.CharField(max_length=64, required=False)
    scoring = ScoringSerializer(required=False)
    open_signup = serializers.BooleanField(required=False)
    url = serializers.CharField(read_only=True)

    def validate(self, attrs):
        unknown = set(self.initial_data) - set(self.fields)
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field."] for name in sorted(unknown)})
        for nested in ("branding", "scoring"):
            raw = self.initial_data.get(nested)
            if isinstance(raw, dict):
                extra = set(raw) - {n for n, f in self.fields[nested].fields.items() if not f.read_only}
                if extra:
                    raise serializers.ValidationError({nested: {name: ["Unknown setting."] for name in sorted(extra)}})
        return attrs


def organization_representation(organization) -> dict:
    from tenants.branding import brand_context
    from tenants.selectors import organization_base_url

    brand = brand_context(organization)
    branding = {key: organization.brand(key) for key in ("primary_color", "accent_color", "sms_sender_id", "tagline")}
    branding["language"] = organization.language
    branding["logo_url"] = brand["logo"]
    return {
        "id": organization.id,
        "slug": organization.slug,
        "type": organization.type,
        "name": organization.name,
        "branding": branding,
        "language": organization.language,
        "time_zone": organization.time_zone,
        "scoring": {key: organization.scoring_rule(key) for key in SCORING_RULES},
        "open_signup": organization.open_signup,
        "url": organization_base_url(organization),
    }


class BrandingUploadSerializer(serializers.Serializer):
    logo = serializers.ImageField(required=False)
    primary_color = serializers.RegexField(r"^#[0-9a-fA-F]{6}$", required=False,
                                           error_messages={"invalid": "Use a colour like #0f766e."})
    accent_color = serializers.RegexField(r"^#[0-9a-fA-F]{6}$", required=False,
                                          error_messages={"invalid": "Use a colour like #0f766e."})
    remove_logo = serializers.BooleanField(required=False, default=False)
