from django.apps import AppConfig


class RecommendationsConfig(AppConfig):
    name = "recommendations"
    verbose_name = "Recommendations"

    def ready(self) -> None:
        from recommendations import checks  # noqa: F401 - registers the checks
        from recommendations.personal_data import register_sections

        register_sections()
