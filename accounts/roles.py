"""Staff roles as Django groups, and the permissions each role holds.

A data migration creates the groups. The permissions are added after every
migrate, because apps such as campaigns create theirs in their own
migrations, which may run after ours. Patterns use fnmatch syntax on
"app_label.codename"; a permission removed from a pattern is not taken
away from a group that already has it.
"""

import fnmatch
import logging

logger = logging.getLogger(__name__)

MARKETING = "marketing"
PRIVACY_OFFICER = "privacy officer"

ROLE_PERMISSIONS = {
    # Campaigns, segments and reports, plus the catalog and model versions
    # they are built from; nothing that shows one person's data.
    MARKETING: [
        "campaigns.*",
        "catalog.view_*",
        "recommendations.view_modelversion",
        "accounts.view_policyversion",
    ],
    PRIVACY_OFFICER: [
        "accounts.view_user",
        "accounts.view_profile",
        "accounts.view_consentevent",
        "accounts.view_erasurerecord",
        "accounts.export_personal_data",
        "accounts.erase_personal_data",
        "accounts.view_policyversion",
        "accounts.add_policyversion",
        "accounts.change_policyversion",
        "accounts.publish_policyversion",
    ],
}


def matching_permissions(permission_model, patterns: list[str], using: str) -> list:
    labels = {pattern.split(".", 1)[0] for pattern in patterns}
    candidates = (
        permission_model.objects.using(using)
        .filter(content_type__app_label__in=labels)
        .select_related("content_type")
    )
    return [
        permission
        for permission in candidates
        if any(
            fnmatch.fnmatchcase(
                f"{permission.content_type.app_label}.{permission.codename}", pattern
            )
            for pattern in patterns
        )
    ]


def sync_role_permissions(sender=None, apps=None, using="default", **kwargs) -> None:
    """Add each role's permissions to its group; connected to post_migrate."""
    if apps is None:
        from django.apps import apps
    try:
        group_model = apps.get_model("auth", "Group")
        permission_model = apps.get_model("auth", "Permission")
    except LookupError:
        return

    for name, patterns in ROLE_PERMISSIONS.items():
        group = group_model.objects.using(using).filter(name=name).first()
        if group is None:
            continue
        permissions = matching_permissions(permission_model, patterns, using)
        group.permissions.add(*permissions)
    logger.debug("Synced staff role permissions after migrating %s", sender)
