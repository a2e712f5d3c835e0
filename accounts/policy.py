"""Privacy policy versions: the current one, publishing, outdated grants.

A grant is outdated when it was recorded under a version older than the
latest published version that requires re-consent. What an outdated grant
still allows depends on the purpose (see REQUIRES_CURRENT_GRANT).
"""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import PolicyVersion, Purpose, User

logger = logging.getLogger(__name__)

# Purposes whose grant stops counting once it is outdated. E-mail goes to
# people who may never visit again, so they would never see the request to
# decide again, and the request itself would be a marketing e-mail. The
# other purposes act only while the user is on the site, where the privacy
# page requests a new decision on their next visit, so their grant counts
# until then.
REQUIRES_CURRENT_GRANT = frozenset({Purpose.EMAIL})


@dataclass(frozen=True)
class PolicyState:
    """The current version and the versions whose grants are up to date.

    accepted is None when no published version requires re-consent, so that
    a grant under any version is up to date.
    """

    current: str
    accepted: frozenset[str] | None

    def is_current_grant(self, policy_version: str) -> bool:
        return self.accepted is None or policy_version in self.accepted


def policy_state() -> PolicyState:
    """Read the published versions; fall back to ATTUNE_POLICY_VERSION."""
    published = list(
        PolicyVersion.objects.published()
        .order_by("-published_at", "-id")
        .values_list("version", "requires_reconsent")
    )
    if not published:
        return PolicyState(settings.ATTUNE_POLICY_VERSION, None)

    accepted: set[str] = set()
    for version, requires_reconsent in published:
        accepted.add(version)
        if requires_reconsent:
            return PolicyState(published[0][0], frozenset(accepted))
    return PolicyState(published[0][0], None)


def current_policy_version() -> str:
    return policy_state().current


@transaction.atomic
def publish_policy(policy: PolicyVersion, published_by: User | None) -> PolicyVersion:
    """Make a draft the current version; re-publishing raises ValueError."""
    locked = PolicyVersion.objects.select_for_update().get(pk=policy.pk)
    if locked.published_at is not None:
        raise ValueError(
            f"Policy {locked.version} was already published on "
            f"{locked.published_at:%Y-%m-%d}: create a new version instead."
        )

    locked.published_at = timezone.now()
    locked.published_by = published_by
    locked.save(update_fields=["published_at", "published_by"])
    logger.info(
        "Policy %s published by user %s (re-consent %s)",
        locked.version,
        published_by.pk if published_by else None,
        "required" if locked.requires_reconsent else "not required",
    )
    return locked
