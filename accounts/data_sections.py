"""The personal-data sections accounts registers: user, profile, consents."""

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import models

from accounts.models import ConsentEvent, Profile, User


def export_user(user: User) -> list[dict]:
    return [
        {
            "username": user.username,
            "email": user.email,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "external_id": user.external_id,
            "is_active": user.is_active,
            "date_joined": user.date_joined.isoformat(),
            "last_login": user.last_login.isoformat() if user.last_login else None,
        }
    ]


def erase_user(user: User) -> int:
    """Delete the user row, its API token and the admin history about it.

    The admin history names the user in object_repr, so it goes too. Rows
    of other apps that reference the user cascade, but every app erases its
    own sections before this one runs.
    """
    history = LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(User),
        object_id=str(user.pk),
    )
    deleted, _ = history.delete()
    user.delete()
    return deleted + 1


def export_profile(user: User) -> list[dict]:
    profile = Profile.objects.filter(user_id=user.pk).first()
    if profile is None:
        return []
    return [
        {
            "age": profile.age,
            "gender": profile.gender,
            "occupation": profile.occupation,
            "postcode": profile.postcode,
            "features": profile.features,
            "features_updated_at": (
                profile.features_updated_at.isoformat()
                if profile.features_updated_at
                else None
            ),
        }
    ]


def erase_profile(user: User) -> int:
    deleted, _ = Profile.objects.filter(user_id=user.pk).delete()
    return deleted


def export_consents(user: User) -> list[dict]:
    events = ConsentEvent.objects.filter(user_id=user.pk).order_by("created_at", "id")
    return [
        {
            "purpose": event.purpose,
            "granted": event.granted,
            "policy_version": event.policy_version,
            "source": event.source,
            "wording": event.wording,
            "created_at": event.created_at.isoformat(),
        }
        for event in events
    ]


def erase_consents(user: User) -> int:
    """Delete the consent log, the one place its append-only rule gives way.

    Once the account is gone nothing is processed under those consents any
    more, and the erasure record keeps the count.
    """
    events = ConsentEvent.objects.filter(user_id=user.pk)
    deleted, _ = models.QuerySet.delete(events)
    return deleted
