from django.apps import AppConfig
from django.db.models.signals import post_migrate


class RecommendationsConfig(AppConfig):
    name = "recommendations"
    verbose_name = "Recommendations"

    def ready(self) -> None:
        from recommendations import checks  # noqa: F401 - registers the checks
        from recommendations.personal_data import register_sections
        from recommendations.schedules import install_after_migrate

        register_sections()
        post_migrate.connect(
            install_after_migrate,
            sender=self,
            dispatch_uid="recommendations.install_default_schedules",
        )
