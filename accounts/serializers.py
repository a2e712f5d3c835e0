from rest_framework import serializers

from accounts.models import ConsentEvent, ErasureRecord, Purpose


class ConsentStateSerializer(serializers.Serializer):
    purpose = serializers.ChoiceField(choices=Purpose.choices)
    label = serializers.CharField()
    wording = serializers.CharField(help_text="The text a grant agrees to.")
    granted = serializers.BooleanField(help_text="The latest decision is a grant.")
    effective = serializers.BooleanField(
        help_text="The grant allows the purpose now; an outdated e-mail grant does not."
    )
    outdated = serializers.BooleanField(
        help_text="Granted under a policy version since replaced by one that "
        "requires deciding again."
    )
    policy_version = serializers.CharField(allow_null=True)
    recorded_at = serializers.DateTimeField(allow_null=True)


class ConsentsSerializer(serializers.Serializer):
    policy_version = serializers.CharField(help_text="The current policy version.")
    needs_reconsent = serializers.ListField(
        child=serializers.CharField(),
        help_text="Purposes granted under an outdated policy version.",
    )
    consents = ConsentStateSerializer(many=True)


def consent_update_fields() -> dict:
    fields = {
        purpose.value: serializers.BooleanField(
            help_text=f"true grants, false withdraws {purpose.label}."
        )
        for purpose in Purpose
    }
    fields["policy_version"] = serializers.CharField(
        required=False,
        help_text="The policy version shown to the user; the request is "
        "rejected when a newer one was published meanwhile.",
    )
    return fields


ConsentUpdateSerializer = type(
    "ConsentUpdateSerializer", (serializers.Serializer,), consent_update_fields()
)


class ExportSerializer(serializers.Serializer):
    format = serializers.IntegerField()
    exported_at = serializers.DateTimeField()
    policy_version = serializers.CharField()
    user_id = serializers.IntegerField()
    sections = serializers.DictField(
        child=serializers.ListField(child=serializers.DictField()),
        help_text="One list of records per kind of data: user, profile, "
        "consents, interactions, recommendations and any other app's.",
    )


class ErasureRequestSerializer(serializers.Serializer):
    confirm = serializers.BooleanField(
        help_text="Must be true: erasure deletes the account and cannot be undone."
    )

    def validate_confirm(self, value: bool) -> bool:
        if not value:
            raise serializers.ValidationError(
                "Set confirm to true to erase the account; this cannot be undone."
            )
        return value


class ErasureRecordSerializer(serializers.ModelSerializer):
    class Meta:
        model = ErasureRecord
        fields = ["reference", "counts", "requested_by", "performed_by", "created_at"]


class ConsentEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = ConsentEvent
        fields = [
            "purpose",
            "granted",
            "policy_version",
            "source",
            "wording",
            "created_at",
        ]


class UserConsentHistorySerializer(serializers.Serializer):
    user_id = serializers.IntegerField()
    consents = ConsentStateSerializer(many=True)
    history = ConsentEventSerializer(many=True)
