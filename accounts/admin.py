from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from accounts.models import ConsentEvent, Profile, User


class ProfileInline(admin.StackedInline):
    model = Profile
    can_delete = False
    readonly_fields = ["features", "features_updated_at"]


class ConsentEventInline(admin.TabularInline):
    """The consent history, read-only: nobody edits history."""

    model = ConsentEvent
    extra = 0
    can_delete = False
    fields = ["created_at", "purpose", "granted", "source", "policy_version"]
    readonly_fields = fields
    ordering = ["-created_at", "-id"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    inlines = [ProfileInline, ConsentEventInline]
    list_display = ["username", "email", "external_id", "is_staff", "date_joined"]
    search_fields = ["username", "email", "external_id"]
    fieldsets = [
        *DjangoUserAdmin.fieldsets,
        ("Source", {"fields": ["external_id"]}),
    ]


@admin.register(ConsentEvent)
class ConsentEventAdmin(admin.ModelAdmin):
    list_display = [
        "user",
        "purpose",
        "granted",
        "source",
        "policy_version",
        "created_at",
    ]
    list_filter = ["purpose", "granted", "source", "policy_version"]
    search_fields = ["user__username"]
    list_select_related = ["user"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
