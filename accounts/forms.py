from django import forms
from django.contrib.auth.forms import UserCreationForm

from accounts.consent import PurposeState
from accounts.models import User


def consent_field_name(purpose: str) -> str:
    # Prefixed, because the sign-up form also has a user field named email.
    return f"consent_{purpose}"


class ConsentFieldsMixin:
    """Consent checkboxes, one per purpose, and the policy version shown."""

    def add_consent_fields(self, overview: list[PurposeState], policy_version: str):
        self.overview = overview
        self.fields["policy_version"] = forms.CharField(
            widget=forms.HiddenInput, initial=policy_version
        )
        for entry in overview:
            # Ticked only for a grant that is up to date, so an outdated
            # grant has to be given again rather than saved by accident.
            self.fields[consent_field_name(entry.purpose)] = forms.BooleanField(
                required=False,
                label=entry.wording,
                initial=entry.granted and not entry.outdated,
            )

    def decisions(self) -> dict[str, bool]:
        return {
            entry.purpose: self.cleaned_data[consent_field_name(entry.purpose)]
            for entry in self.overview
        }

    def rows(self):
        """Pair each purpose's state with its bound checkbox, for the template."""
        return [
            (entry, self[consent_field_name(entry.purpose)]) for entry in self.overview
        ]


class PrivacyForm(ConsentFieldsMixin, forms.Form):
    def __init__(self, *args, overview: list[PurposeState], policy_version: str, **kw):
        super().__init__(*args, **kw)
        self.add_consent_fields(overview, policy_version)


class SignUpForm(ConsentFieldsMixin, UserCreationForm):
    class Meta(UserCreationForm.Meta):
        model = User
        fields = ["username", "email"]

    def __init__(self, *args, overview: list[PurposeState], policy_version: str, **kw):
        super().__init__(*args, **kw)
        self.add_consent_fields(overview, policy_version)


class ErasureConfirmForm(forms.Form):
    confirm = forms.BooleanField(
        required=True,
        label="I understand that erasure deletes my account and data and "
        "cannot be undone.",
    )
