"""The privacy API: one's own consents, export and erasure; staff views."""

import logging

from django.contrib.auth import logout
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import NotFound
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import consent, services
from accounts.models import ConsentSource, ErasureRecord, User
from accounts.policy import policy_state
from accounts.serializers import (
    ConsentEventSerializer,
    ConsentsSerializer,
    ConsentUpdateSerializer,
    ErasureRecordSerializer,
    ErasureRequestSerializer,
    ExportSerializer,
    UserConsentHistorySerializer,
)

logger = logging.getLogger(__name__)


class HasStaffPermission(BasePermission):
    """Staff members holding the permission named by the view's staff_permission."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(
            user.is_authenticated
            and user.is_staff
            and user.has_perm(view.staff_permission)
        )


def consents_payload(user: User) -> dict:
    state = policy_state()
    overview = consent.consent_overview(user, state)
    return {
        "policy_version": state.current,
        "needs_reconsent": [entry.purpose for entry in overview if entry.outdated],
        "consents": overview,
    }


class MyConsentsView(APIView):
    """The signed-in user's consent per purpose; PUT grants or withdraws."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=ConsentsSerializer)
    def get(self, request):
        return Response(ConsentsSerializer(consents_payload(request.user)).data)

    @extend_schema(request=ConsentUpdateSerializer, responses=ConsentsSerializer)
    def put(self, request):
        update = ConsentUpdateSerializer(data=request.data)
        update.is_valid(raise_exception=True)
        decisions = dict(update.validated_data)
        shown_version = decisions.pop("policy_version", None)
        try:
            consent.update_consents(
                request.user,
                decisions,
                ConsentSource.API,
                policy_version=shown_version,
            )
        except ValueError as error:
            raise serializers.ValidationError(
                {"policy_version": [str(error)]}
            ) from error
        return Response(ConsentsSerializer(consents_payload(request.user)).data)


class MyExportView(APIView):
    """Everything Attune stores about the signed-in user, as one JSON document."""

    permission_classes = [IsAuthenticated]
    throttle_scope = "export"

    @extend_schema(responses=ExportSerializer)
    def get(self, request):
        return Response(services.export_user_data(request.user))


class MyErasureView(APIView):
    """Erase the signed-in user's account and personal data."""

    permission_classes = [IsAuthenticated]
    throttle_scope = "erase"

    @extend_schema(
        request=ErasureRequestSerializer,
        responses={200: OpenApiResponse(ErasureRecordSerializer, "The receipt.")},
    )
    def post(self, request):
        confirmation = ErasureRequestSerializer(data=request.data)
        confirmation.is_valid(raise_exception=True)
        record = services.erase_user(request.user)
        logout(request._request)
        return Response(ErasureRecordSerializer(record).data)


class UserConsentHistoryView(APIView):
    """A user's consent state and full history: their own, or any for staff.

    Another user's id returns 404, so ids cannot be probed.
    """

    permission_classes = [IsAuthenticated]
    staff_permission = "accounts.view_consentevent"

    @extend_schema(responses=UserConsentHistorySerializer)
    def get(self, request, user_id: int):
        if user_id != request.user.pk and not HasStaffPermission().has_permission(
            request, self
        ):
            raise NotFound()

        user = get_object_or_404(User, pk=user_id)
        history = user.consent_events.order_by("-created_at", "-id")
        payload = {
            "user_id": user.pk,
            "consents": consent.consent_overview(user),
            "history": ConsentEventSerializer(history, many=True).data,
        }
        return Response(UserConsentHistorySerializer(payload).data)


class ErasureRecordListView(generics.ListAPIView):
    """The erasure audit log, newest first; for privacy staff."""

    permission_classes = [HasStaffPermission]
    staff_permission = "accounts.view_erasurerecord"
    serializer_class = ErasureRecordSerializer
    queryset = ErasureRecord.objects.order_by("-created_at", "-id")
