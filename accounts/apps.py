from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and consent"

    def ready(self):
        from accounts import data_sections, roles
        from accounts.personal_data import register

        register(
            "user", export=data_sections.export_user, erase=data_sections.erase_user
        )
        register(
            "profile",
            export=data_sections.export_profile,
            erase=data_sections.erase_profile,
        )
        register(
            "consents",
            export=data_sections.export_consents,
            erase=data_sections.erase_consents,
        )
        post_migrate.connect(roles.sync_role_permissions, dispatch_uid="attune-roles")
