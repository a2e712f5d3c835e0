from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = "Campaigns"

    def ready(self):
        from campaigns import checks  # noqa: F401  registers the system checks
        from campaigns.personal_data import register_sections

        register_sections()
