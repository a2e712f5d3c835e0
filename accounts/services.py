"""Export and erase everything Attune stores about one user."""

import logging

from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from accounts import personal_data
from accounts.models import ErasureActor, ErasureRecord, User
from accounts.policy import current_policy_version

logger = logging.getLogger(__name__)
EXPORT_FORMAT = 1  # bumped when a section changes shape


def export_user_data(user: User) -> dict:
    """Collect every registered section for the user as one JSON document."""
    document = {
        "format": EXPORT_FORMAT,
        "exported_at": timezone.now().isoformat(),
        "policy_version": current_policy_version(),
        "user_id": user.pk,
        "sections": {
            section.name: section.export(user) for section in personal_data.sections()
        },
    }
    logger.info("Exported personal data of user %s", user.pk)
    return document


def erasure_reference(user: User) -> str:
    """Return a receipt for the erasure that cannot be turned back into the id."""
    joined = user.date_joined.isoformat() if user.date_joined else ""
    return salted_hmac(
        "attune.erasure", f"{user.pk}:{joined}", algorithm="sha256"
    ).hexdigest()


@transaction.atomic
def erase_user(user: User, performed_by: User | None = None) -> ErasureRecord:
    """Erase the user's personal data in every section and record the erasure.

    performed_by is the staff member who ran it, or None when users erase
    themselves. Staff erasing their own account count as staff.
    """
    locked = User.objects.select_for_update().get(pk=user.pk)
    reference = erasure_reference(locked)
    counts = {}
    for section in reversed(personal_data.sections()):
        counts[section.name] = section.erase(locked)

    is_staff_action = performed_by is not None
    record = ErasureRecord.objects.create(
        reference=reference,
        counts=counts,
        requested_by=ErasureActor.STAFF if is_staff_action else ErasureActor.SELF,
        performed_by=performed_by
        if performed_by and performed_by.pk != user.pk
        else None,
    )
    logger.info(
        "Erasure %s by %s: %s",
        reference[:12],
        f"staff user {performed_by.pk}" if performed_by else "the user",
        counts,
    )
    return record
