from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from recommendations import registry
from recommendations.models import (
    Interaction,
    ModelStatus,
    ModelVersion,
    UserRecommendations,
)
from recommendations.tasks import queue_precompute, queue_training


@admin.register(Interaction)
class InteractionAdmin(admin.ModelAdmin):
    list_display = ["id", "user", "item", "kind", "value", "occurred_at"]
    list_filter = ["kind"]
    raw_id_fields = ["user", "item"]
    list_select_related = ["user", "item"]
    show_full_result_count = False


def format_metric(version: ModelVersion, key: str) -> str:
    """Return metrics[key] to four decimals, or "-" when it was not measured."""
    value = (version.metrics or {}).get(key)
    if isinstance(value, int | float):
        return f"{value:.4f}"
    return "-"


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    """Trained versions with their metrics, and the staff controls of serving.

    Versions are created by training only, so they cannot be added or edited
    here. "Retrain now" is a button on the list; "activate" and "roll back"
    are both list actions and buttons on a version's page.
    """

    list_display = [
        "id",
        "algorithm",
        "status",
        "is_active",
        "ndcg_at_10",
        "precision_at_10",
        "n_users",
        "n_items",
        "n_interactions",
        "duration_seconds",
        "created_at",
        "activated_at",
    ]
    list_filter = ["algorithm", "status", "is_active", "created_at"]
    search_fields = ["algorithm", "error"]
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in ModelVersion._meta.fields]
    actions = ["activate_selected", "roll_back_selected", "retrain_selected"]
    change_list_template = "admin/recommendations/modelversion/change_list.html"
    change_form_template = "admin/recommendations/modelversion/change_form.html"

    def has_add_permission(self, request) -> bool:
        return False

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "has_change_permission": self.has_change_permission(request),
        }
        return super().changelist_view(request, extra_context)

    @admin.display(description="nDCG@10")
    def ndcg_at_10(self, version: ModelVersion) -> str:
        return format_metric(version, "ndcg@10")

    @admin.display(description="Precision@10")
    def precision_at_10(self, version: ModelVersion) -> str:
        return format_metric(version, "precision@10")

    def get_urls(self):
        def view(function):
            return self.admin_site.admin_view(require_POST(function))

        own = [
            path("retrain/", view(self.retrain_view), name="modelversion_retrain"),
            path(
                "<int:object_id>/activate/",
                view(self.activate_view),
                name="modelversion_activate",
            ),
            path(
                "<int:object_id>/rollback/",
                view(self.rollback_view),
                name="modelversion_rollback",
            ),
        ]
        return own + super().get_urls()

    @admin.action(description="Activate the selected versions", permissions=["change"])
    def activate_selected(self, request, queryset):
        algorithms = list(queryset.values_list("algorithm", flat=True))
        repeated = sorted({name for name in algorithms if algorithms.count(name) > 1})
        if repeated:
            self.message_user(
                request,
                f"Select one version per algorithm to activate; several were "
                f"selected for {', '.join(repeated)}.",
                messages.ERROR,
            )
            return
        for version in queryset:
            self._activate(request, version)

    @admin.action(
        description="Roll back the algorithms of the selected versions",
        permissions=["change"],
    )
    def roll_back_selected(self, request, queryset):
        for algorithm in sorted(set(queryset.values_list("algorithm", flat=True))):
            self._roll_back(request, algorithm)

    @admin.action(
        description="Retrain the algorithms of the selected versions",
        permissions=["change"],
    )
    def retrain_selected(self, request, queryset):
        algorithms = sorted(set(queryset.values_list("algorithm", flat=True)))
        self._retrain(request, algorithms)

    def retrain_view(self, request):
        self._check_change_permission(request)
        self._retrain(request, None)
        return HttpResponseRedirect(
            reverse("admin:recommendations_modelversion_changelist")
        )

    def activate_view(self, request, object_id: int):
        self._check_change_permission(request)
        version = get_object_or_404(ModelVersion, pk=object_id)
        self._activate(request, version)
        return self._redirect_to(version)

    def rollback_view(self, request, object_id: int):
        self._check_change_permission(request)
        version = get_object_or_404(ModelVersion, pk=object_id)
        self._roll_back(request, version.algorithm)
        return self._redirect_to(version)

    def _check_change_permission(self, request) -> None:
        if not self.has_change_permission(request):
            raise PermissionDenied

    def _retrain(self, request, algorithms: list[str] | None) -> None:
        try:
            queue_training(algorithms)
        except ValueError as error:  # an algorithm that is no longer registered
            self.message_user(request, str(error), messages.ERROR)
            return
        names = ", ".join(algorithms) if algorithms else "the default algorithms"
        self.message_user(request, f"Queued retraining of {names}.", messages.SUCCESS)

    def _activate(self, request, version: ModelVersion) -> None:
        if version.status != ModelStatus.READY:
            self.message_user(
                request,
                f"{version.label} has status {version.status}; only a ready "
                "version can be activated.",
                messages.ERROR,
            )
            return
        registry.activate(version)
        queue_precompute(version)
        self.message_user(request, f"Activated {version.label}.", messages.SUCCESS)

    def _roll_back(self, request, algorithm: str) -> None:
        try:
            version = registry.rollback(algorithm)
        except ValueError as error:
            self.message_user(request, str(error), messages.ERROR)
            return
        queue_precompute(version)
        self.message_user(
            request, f"Rolled {algorithm} back to {version.label}.", messages.SUCCESS
        )

    @staticmethod
    def _redirect_to(version: ModelVersion) -> HttpResponseRedirect:
        url = reverse("admin:recommendations_modelversion_change", args=[version.pk])
        return HttpResponseRedirect(url)


@admin.register(UserRecommendations)
class UserRecommendationsAdmin(admin.ModelAdmin):
    list_display = ["user", "model_version", "computed_at"]
    raw_id_fields = ["user"]
    list_select_related = ["user", "model_version"]
