from django.contrib import admin

from recommendations.models import Interaction, ModelVersion, UserRecommendations


@admin.register(Interaction)
class InteractionAdmin(admin.ModelAdmin):
    list_display = ["id", "user", "item", "kind", "value", "occurred_at"]
    list_filter = ["kind"]
    raw_id_fields = ["user", "item"]
    list_select_related = ["user", "item"]
    show_full_result_count = False


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "algorithm",
        "status",
        "is_active",
        "n_interactions",
        "duration_seconds",
        "created_at",
    ]
    list_filter = ["algorithm", "status", "is_active"]
    readonly_fields = [field.name for field in ModelVersion._meta.fields]


@admin.register(UserRecommendations)
class UserRecommendationsAdmin(admin.ModelAdmin):
    list_display = ["user", "model_version", "computed_at"]
    raw_id_fields = ["user"]
    list_select_related = ["user", "model_version"]
