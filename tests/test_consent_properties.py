"""Property: nothing personal is served without the consent current at the time.

A state machine picks a user: imported with a precomputed list, new with
a short history, or anonymous. It then runs a random sequence of steps:
grant or withdraw a purpose, publish a policy version, request
recommendations, check the e-mail audience, send a marketing e-mail. It
keeps its own model of what each purpose allows and checks every answer
against it. To cover another kind of step, add a @rule method that acts and
asserts against self.allows(purpose).
"""

import itertools

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core import mail
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    precondition,
    rule,
    run_state_machine_as_test,
)

from accounts.consent import (
    has_consent,
    record_consent,
    update_consents,
    users_with_consent,
)
from accounts.models import ConsentSource, PolicyVersion, Purpose, User
from accounts.policy import publish_policy
from campaigns.models import CampaignStatus, Delivery
from campaigns.sending import send_next_batch
from campaigns.testing import make_campaign
from recommendations.models import Interaction, InteractionKind, UserRecommendations
from recommendations.services import Source, recommend

SLICE_USERS = 40
STEP_SETTINGS = settings(
    max_examples=50,
    stateful_step_count=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
version_numbers = itertools.count(1)


class ConsentMachine(RuleBasedStateMachine):
    """Each example runs in a savepoint that is rolled back at teardown."""

    def __init__(self):
        super().__init__()
        self.savepoint = transaction.atomic()
        self.savepoint.__enter__()
        self.user = AnonymousUser()
        # purpose -> (granted, policy version) of the latest event
        self.latest: dict[str, tuple[bool, str]] = {}
        # published versions, oldest first, as (version, requires_reconsent)
        self.published: list[tuple[str, bool]] = []
        self.has_history = False

    def teardown(self):
        transaction.set_rollback(True)
        self.savepoint.__exit__(None, None, None)

    # The model of the consent rules, written independently of accounts.

    def current_version(self) -> str:
        return self.published[-1][0] if self.published else "2026-01"

    def accepted_versions(self) -> set[str] | None:
        accepted = set()
        for version, requires_reconsent in reversed(self.published):
            accepted.add(version)
            if requires_reconsent:
                return accepted
        return None

    def allows(self, purpose: str) -> bool:
        granted, version = self.latest.get(purpose, (False, ""))
        if not granted:
            return False
        if purpose != Purpose.EMAIL:
            return True
        accepted = self.accepted_versions()
        return accepted is None or version in accepted

    # Steps.

    @initialize(kind=st.sampled_from(["imported", "new", "anonymous"]))
    def choose_user(self, kind):
        if kind == "anonymous":
            return
        if kind == "imported":
            self.user = User.objects.get(external_id=f"movielens:{SLICE_USERS}")
            self.user.email = "imported@attune.example"
            self.user.save(update_fields=["email"])
            self.latest[Purpose.PERSONALIZATION] = (True, "2026-01")
            self.has_history = UserRecommendations.objects.filter(
                user=self.user
            ).exists()
            return
        number = next(version_numbers)
        self.user = User.objects.create_user(
            f"new-{number}", email=f"new-{number}@attune.example"
        )
        self.give_history(self.user)
        self.has_history = True

    @staticmethod
    def give_history(user):
        """Copy the first ratings of an imported user, for on-demand scoring."""
        seen = Interaction.objects.filter(user__external_id="movielens:1")
        for index, item_id in enumerate(seen.values_list("item_id", flat=True)[:5]):
            Interaction.objects.create(
                user=user,
                item_id=item_id,
                kind=InteractionKind.VIEW,
                occurred_at=timezone.now(),
                event_id=f"property-{user.pk}-{index}",
            )

    @precondition(lambda self: self.user.is_authenticated)
    @rule(
        purpose=st.sampled_from(Purpose.values),
        granted=st.booleans(),
        through_page=st.booleans(),
    )
    def decide(self, purpose, granted, through_page):
        if through_page:
            update_consents(self.user, {purpose: granted}, ConsentSource.PREFERENCES)
            previous = self.latest.get(purpose)
            unchanged = previous is not None and previous[0] == granted
            if unchanged and not (granted and not self.allows_version(previous[1])):
                return
        else:
            record_consent(self.user, purpose, granted, ConsentSource.API)
        self.latest[purpose] = (granted, self.current_version())

    def allows_version(self, version: str) -> bool:
        accepted = self.accepted_versions()
        return accepted is None or version in accepted

    @rule(requires_reconsent=st.booleans())
    def publish_version(self, requires_reconsent):
        version = f"test-{next(version_numbers)}"
        draft = PolicyVersion.objects.create(
            version=version, requires_reconsent=requires_reconsent
        )
        publish_policy(draft, published_by=None)
        self.published.append((version, requires_reconsent))

    @rule(n=st.integers(min_value=1, max_value=30))
    def request_recommendations(self, n):
        result = recommend(self.user, n)

        sources = {item.source for item in result}
        if not self.allows(Purpose.PERSONALIZATION):
            assert not result.personalized
            assert Source.PERSONAL not in sources
        elif self.has_history:
            assert result.personalized

    @precondition(lambda self: self.user.is_authenticated)
    @rule()
    def check_email_consent(self):
        allowed = self.allows(Purpose.EMAIL)

        assert has_consent(self.user, Purpose.EMAIL) == allowed
        assert (self.user.pk in users_with_consent(Purpose.EMAIL)) == allowed

    @precondition(lambda self: self.user.is_authenticated)
    @rule()
    def send_campaign(self):
        """Send one marketing e-mail to the user through the real send path."""
        campaign = make_campaign(slug=f"property-{next(version_numbers)}")
        Delivery.objects.create(
            campaign=campaign, user=self.user, variant=campaign.variants.get()
        )
        campaign.status = CampaignStatus.SENDING
        campaign.save(update_fields=["status"])
        mail.outbox.clear()

        while send_next_batch(campaign.pk).more:
            pass

        sent = [message for message in mail.outbox if self.user.email in message.to]
        assert len(sent) == int(self.allows(Purpose.EMAIL))


@pytest.mark.slow
@pytest.mark.django_db
def test_no_personal_result_without_current_consent(trained_slice):
    run_state_machine_as_test(ConsentMachine, settings=STEP_SETTINGS)
