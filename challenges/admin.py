"""The platform badge catalogue (tenants.SystemBadge) in the platform console: its rules are the
game's, so the game validates them (challenges.badges.criteria_validate)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from challenges.badges import criteria_validate
from tenants.models import SystemBadge


class SystemBadgeForm(forms.ModelForm):
    class Meta:
        model = SystemBadge
        fields = "__all__"

    def clean_criteria(self):
        """The rule must be one gamification can evaluate (metric comparisons, all/any)."""
        criteria = self.cleaned_data.get("criteria")
        try:
            criteria_validate(criteria)
        except ValidationError as exc:
            raise forms.ValidationError(exc.message_dict.get("criteria", exc.messages) if hasattr(exc, "error_dict")
                                        else exc.messages) from exc
        return criteria


@admin.register(SystemBadge)
class SystemBadgeAdmin(admin.ModelAdmin):
    form = SystemBadgeForm
    list_display = ["icon", "name", "rarity", "per_challenge", "is_active"]
    list_filter = ["rarity", "is_active", "per_challenge"]
    search_fields = ["name", "slug", "description"]
    prepopulated_fields = {"slug": ("name",)}
