from django import forms

from accounts.consent import PurposeState


class PrivacyForm(forms.Form):
    """One unticked-by-default checkbox per purpose, plus the version shown."""

    policy_version = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args, overview: list[PurposeState], policy_version: str, **kw):
        super().__init__(*args, **kw)
        self.overview = overview
        self.fields["policy_version"].initial = policy_version
        for entry in overview:
            # Ticked only for a grant that is up to date, so an outdated
            # grant has to be given again rather than saved by accident.
            self.fields[entry.purpose] = forms.BooleanField(
                required=False,
                label=entry.wording,
                initial=entry.granted and not entry.outdated,
            )

    def decisions(self) -> dict[str, bool]:
        return {
            entry.purpose: self.cleaned_data[entry.purpose] for entry in self.overview
        }

    def rows(self):
        """Pair each purpose's state with its bound checkbox, for the template."""
        return [(entry, self[entry.purpose]) for entry in self.overview]


class ErasureConfirmForm(forms.Form):
    confirm = forms.BooleanField(
        required=True,
        label="I understand that erasure deletes my account and data and "
        "cannot be undone.",
    )
