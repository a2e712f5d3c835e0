import json
import logging
import smtplib

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST
from rest_framework.throttling import SimpleRateThrottle

from accounts.models import User
from campaigns import charts, pages, reports, sending, services
from campaigns.models import (
    Campaign,
    ContentSlot,
    Delivery,
    Segment,
    SegmentRule,
    Variant,
    rule_errors,
)
from campaigns.segments import segment_preview

logger = logging.getLogger(__name__)


class SegmentRuleInline(admin.TabularInline):
    model = SegmentRule
    extra = 1


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    list_display = ["name", "match", "created_at"]
    inlines = [SegmentRuleInline]
    change_form_template = "campaigns/admin/segment_change_form.html"

    def get_urls(self):
        preview = self.admin_site.admin_view(require_POST(self.preview_view))
        return [
            path("preview/", preview, name="campaigns_segment_preview"),
            *super().get_urls(),
        ]

    def preview_view(self, request):
        """Return the live size and a sample of the segment being edited."""
        try:
            payload = json.loads(request.body)
            rules = rules_from_payload(payload.get("rules", []))
        except (json.JSONDecodeError, AttributeError, TypeError) as error:
            return JsonResponse(
                {"error": f"Invalid preview request: {error}"}, status=400
            )
        except ValidationError as error:
            return JsonResponse({"error": " ".join(error.messages)}, status=400)
        return JsonResponse(segment_preview(rules, payload.get("match", "all")))


def rules_from_payload(entries: list[dict]) -> list[SegmentRule]:
    """Build unsaved rules from the form's rows, skipping empty and deleted rows."""
    rules = []
    for entry in entries:
        if entry.get("delete") or not entry.get("kind"):
            continue
        number = int(entry["number"]) if str(entry.get("number", "")).strip() else None
        rule = SegmentRule(
            kind=entry["kind"],
            value=str(entry.get("value", "")).strip(),
            number=number,
            negate=bool(entry.get("negate")),
        )
        errors = rule_errors(rule.kind, rule.value, rule.number)
        if errors:
            raise ValidationError(list(errors.values()))
        rules.append(rule)
    return rules


class ContentSlotInline(admin.TabularInline):
    model = ContentSlot
    extra = 1


class VariantInline(admin.StackedInline):
    model = Variant
    extra = 1


class TestSendThrottle(SimpleRateThrottle):
    """Rate of test messages per staff user, from the "test_send" API scope."""

    scope = "test_send"

    def get_rate(self) -> str:
        # Read per request rather than from DRF's import-time copy, so a
        # changed setting applies without a restart.
        return settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][self.scope]

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "channel", "status", "segment", "scheduled_at"]
    list_filter = ["status", "channel"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["status", "launched_at", "audience_built_at", "finished_at"]
    inlines = [ContentSlotInline, VariantInline]
    actions = ["launch", "pause", "resume", "cancel"]
    change_form_template = "campaigns/admin/campaign_change_form.html"

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "<int:campaign_id>/preview/",
                wrap(self.preview_view),
                name="campaigns_campaign_preview",
            ),
            path(
                "<int:campaign_id>/report/",
                wrap(self.report_view),
                name="campaigns_campaign_report",
            ),
            *super().get_urls(),
        ]

    def run_action(self, request, queryset, action, verb: str) -> None:
        for campaign in queryset:
            try:
                action(campaign.pk)
            except (services.CampaignStateError, ValueError) as error:
                self.message_user(request, str(error), messages.ERROR)
            else:
                self.message_user(request, f"{campaign.name}: {verb}.")

    @admin.action(description="Launch (or schedule) the selected campaigns")
    def launch(self, request, queryset):
        self.run_action(request, queryset, services.launch_campaign, "launched")

    @admin.action(description="Pause the selected campaigns after the current batch")
    def pause(self, request, queryset):
        self.run_action(request, queryset, services.pause_campaign, "paused")

    @admin.action(description="Resume the selected paused campaigns")
    def resume(self, request, queryset):
        self.run_action(request, queryset, services.resume_campaign, "resumed")

    @admin.action(description="Cancel the selected campaigns")
    def cancel(self, request, queryset):
        self.run_action(request, queryset, services.cancel_campaign, "cancelled")

    def preview_view(self, request, campaign_id: int):
        """Render the campaign as a chosen user would get it; send a test copy."""
        campaign = get_object_or_404(Campaign, pk=campaign_id)
        user = preview_user(request)
        variants = list(campaign.variants.all())
        variant = next(
            (v for v in variants if str(v.pk) == request.GET.get("variant")),
            variants[0] if variants else None,
        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "campaign": campaign,
            "variants": variants,
            "variant": variant,
            "preview_user": user,
            "title": f"Preview of {campaign.name}",
        }
        if user is not None and variant is not None:
            try:
                content = pages.personal_content(campaign, user, variant)
                context["message"] = content.message()
            except ValueError as error:
                self.message_user(request, str(error), messages.ERROR)
                content = None
            if request.method == "POST" and content is not None:
                return self.send_test(request, campaign, content)
        return TemplateResponse(
            request, "campaigns/admin/campaign_preview.html", context
        )

    def send_test(self, request, campaign, content):
        address = request.POST.get("address", "").strip()
        throttle = TestSendThrottle()
        if not throttle.allow_request(request, None):
            logger.warning(
                "Campaign %s: test message by user %s throttled",
                campaign.pk,
                request.user.pk,
            )
            self.message_user(
                request,
                f"Too many test messages: try again in {throttle.wait():.0f} s.",
                messages.ERROR,
            )
            return HttpResponseRedirect(request.get_full_path())
        try:
            validate_email(address)
            sending.send_test_message(campaign, content, address)
        except ValidationError:
            self.message_user(
                request, f"{address!r} is not a valid e-mail address.", messages.ERROR
            )
        except (smtplib.SMTPException, OSError) as error:
            logger.exception("Campaign %s: test message failed", campaign.pk)
            self.message_user(
                request, f"Sending the test failed: {error}", messages.ERROR
            )
        else:
            self.message_user(request, f"Test message sent to {address}.")
        return HttpResponseRedirect(request.get_full_path())

    def report_view(self, request, campaign_id: int):
        campaign = get_object_or_404(Campaign, pk=campaign_id)
        rows = reports.campaign_report(campaign)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "campaign": campaign,
            "rows": rows,
            "chart": mark_safe(charts.report_chart(rows)),  # noqa: S308
            "title": f"Report of {campaign.name}",
            "change_url": reverse(
                "admin:campaigns_campaign_change", args=[campaign.pk]
            ),
        }
        return TemplateResponse(
            request, "campaigns/admin/campaign_report.html", context
        )


def preview_user(request) -> User | None:
    """Return the user named by ?user=, or the staff member viewing the page."""
    raw = request.GET.get("user", "").strip()
    if not raw:
        return request.user
    if raw.isdigit():
        return User.objects.filter(pk=int(raw)).first()
    return User.objects.filter(username=raw).first()


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["campaign", "user", "variant", "status", "processed_at"]
    list_filter = ["status", "campaign"]
    raw_id_fields = ["user"]
    readonly_fields = [field.name for field in Delivery._meta.fields]

    def has_add_permission(self, request):
        return False
