"""Staff views of users, consent, policy versions and erasures.

Consent history is read-only everywhere. Export and erasure are actions
that need the export_personal_data and erase_personal_data permissions,
which the "privacy officer" group has and the "marketing" group does not.
"""

import json
import logging

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import BooleanField, Case, Value, When
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from accounts import services
from accounts.models import ConsentEvent, ErasureRecord, PolicyVersion, Profile, User
from accounts.policy import policy_state, publish_policy
from accounts.selectors import (
    annotate_consent_state,
    consent_field,
    outdated_grant_condition,
)

logger = logging.getLogger(__name__)
MAX_EXPORT_USERS = 100  # one JSON response; a MovieLens user is about 40 KB


class ProfileInline(admin.StackedInline):
    model = Profile
    can_delete = False
    readonly_fields = ["features", "features_updated_at"]


class ConsentEventInline(admin.TabularInline):
    """The consent history, read-only even for superusers."""

    model = ConsentEvent
    extra = 0
    can_delete = False
    fields = ["created_at", "purpose", "granted", "source", "policy_version", "wording"]
    readonly_fields = fields
    ordering = ["-created_at", "-id"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def consent_filter(purpose: str, label: str) -> type[admin.SimpleListFilter]:
    """Build a list filter on the latest decision for one purpose."""

    class ConsentFilter(admin.SimpleListFilter):
        title = f"{label} consent"
        parameter_name = consent_field(purpose)

        def lookups(self, request, model_admin):
            return [
                ("granted", "granted"),
                ("withdrawn", "withdrawn"),
                ("never", "never asked"),
            ]

        def queryset(self, request, queryset):
            field = consent_field(purpose)
            if self.value() == "granted":
                return queryset.filter(**{field: True})
            if self.value() == "withdrawn":
                return queryset.filter(**{field: False})
            if self.value() == "never":
                return queryset.filter(**{f"{field}__isnull": True})
            return queryset

    return ConsentFilter


class NeedsReconsentFilter(admin.SimpleListFilter):
    title = "needs re-consent"
    parameter_name = "needs_reconsent"

    def lookups(self, request, model_admin):
        return [("yes", "yes"), ("no", "no")]

    def queryset(self, request, queryset):
        if self.value() in {"yes", "no"}:
            return queryset.filter(needs_reconsent=self.value() == "yes")
        return queryset


def consent_column(purpose: str, label: str):
    @admin.display(boolean=True, description=label, ordering=consent_field(purpose))
    def column(model_admin, obj):
        return getattr(obj, consent_field(purpose))

    return column


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    inlines = [ProfileInline, ConsentEventInline]
    list_display = [
        "username",
        "email",
        "external_id",
        "is_staff",
        "date_joined",
        "personalization",
        "email_marketing",
        "analytics",
        "needs_reconsent",
    ]
    list_filter = [
        *DjangoUserAdmin.list_filter,
        consent_filter("personalization", "personalization"),
        consent_filter("email", "e-mail"),
        consent_filter("analytics", "analytics"),
        NeedsReconsentFilter,
    ]
    search_fields = ["username", "email", "external_id"]
    fieldsets = [
        *DjangoUserAdmin.fieldsets,
        ("Source", {"fields": ["external_id"]}),
    ]
    actions = ["export_personal_data", "erase_personal_data"]

    personalization = consent_column("personalization", "personalization")
    email_marketing = consent_column("email", "e-mail")
    analytics = consent_column("analytics", "analytics")

    @admin.display(boolean=True, description="needs re-consent")
    def needs_reconsent(self, obj):
        return obj.needs_reconsent

    def get_queryset(self, request):
        users = annotate_consent_state(super().get_queryset(request))
        return users.annotate(
            needs_reconsent=Case(
                When(outdated_grant_condition(policy_state()), then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            )
        )

    def has_delete_permission(self, request, obj=None):
        # Deleting goes through the erase action instead, which reaches every
        # app's data and leaves an erasure record.
        return False

    def has_export_permission(self, request):
        return request.user.has_perm("accounts.export_personal_data")

    def has_erase_permission(self, request):
        return request.user.has_perm("accounts.erase_personal_data")

    @admin.action(description="Export personal data as JSON", permissions=["export"])
    def export_personal_data(self, request, queryset):
        users = list(queryset.order_by("pk")[: MAX_EXPORT_USERS + 1])
        if len(users) > MAX_EXPORT_USERS:
            self.message_user(
                request,
                f"Select at most {MAX_EXPORT_USERS} users per export.",
                messages.ERROR,
            )
            return None

        documents = [services.export_user_data(user) for user in users]
        for user in users:
            self.log_change(request, user, "Exported personal data.")
        logger.info(
            "Staff user %s exported the data of users %s",
            request.user.pk,
            [user.pk for user in users],
        )
        response = HttpResponse(
            json.dumps({"users": documents}, cls=DjangoJSONEncoder, indent=2),
            content_type="application/json",
        )
        filename = f"attune-export-{timezone.now():%Y-%m-%d-%H%M}.json"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

    @admin.action(description="Erase personal data", permissions=["erase"])
    def erase_personal_data(self, request, queryset):
        users = list(queryset.order_by("pk"))
        if any(user.pk == request.user.pk for user in users):
            self.message_user(
                request,
                "Your own account is selected: erase it from its privacy page.",
                messages.ERROR,
            )
            return None
        if request.POST.get("confirm") != "yes":
            context = {
                **self.admin_site.each_context(request),
                "users": users,
                "opts": self.model._meta,
                "title": "Erase personal data",
            }
            return TemplateResponse(
                request, "accounts/admin_erase_confirm.html", context
            )

        for user in users:
            record = services.erase_user(user, performed_by=request.user)
            self.log_addition(request, record, "Erased a user's personal data.")
        self.message_user(request, f"Erased {len(users)} users.", messages.SUCCESS)
        return None


class ReadOnlyAdmin(admin.ModelAdmin):
    """Lists and detail pages only: no adding, editing or deleting."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ConsentEvent)
class ConsentEventAdmin(ReadOnlyAdmin):
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


@admin.register(PolicyVersion)
class PolicyVersionAdmin(admin.ModelAdmin):
    list_display = [
        "version",
        "requires_reconsent",
        "published_at",
        "published_by",
        "created_at",
    ]
    readonly_fields = ["published_at", "published_by", "created_at"]
    actions = ["publish"]

    def get_actions(self, request):
        # Bulk deletion would skip the per-object check that keeps published
        # versions, which consent events refer to by name.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.published_at is not None:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.published_at is not None:
            return False
        return super().has_delete_permission(request, obj)

    def has_publish_permission(self, request):
        return request.user.has_perm("accounts.publish_policyversion")

    @admin.action(description="Publish as the current version", permissions=["publish"])
    def publish(self, request, queryset):
        drafts = list(queryset.filter(published_at__isnull=True).order_by("pk"))
        if len(drafts) != 1:
            self.message_user(
                request, "Select exactly one draft to publish.", messages.ERROR
            )
            return

        try:
            policy = publish_policy(drafts[0], published_by=request.user)
        except ValueError as error:
            self.message_user(request, str(error), messages.ERROR)
            return
        self.log_change(request, policy, "Published.")
        self.message_user(request, f"Published policy {policy.version}.")


@admin.register(ErasureRecord)
class ErasureRecordAdmin(ReadOnlyAdmin):
    list_display = ["reference", "requested_by", "performed_by", "created_at"]
    list_filter = ["requested_by"]
    readonly_fields = [
        "reference",
        "counts",
        "requested_by",
        "performed_by",
        "created_at",
    ]
