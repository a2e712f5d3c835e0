"""Model version admin: metric columns, filters, retrain, activate, roll back."""

from datetime import timedelta
from http import HTTPStatus

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from recommendations import training
from recommendations.models import (
    ModelStatus,
    ModelVersion,
    UserRecommendations,
)

CHANGELIST = "admin:recommendations_modelversion_changelist"


def make_version(algorithm="popularity", status=ModelStatus.READY, **fields):
    return ModelVersion.objects.create(algorithm=algorithm, status=status, **fields)


def activated(version: ModelVersion, minutes_ago: int) -> ModelVersion:
    version.is_active = True
    version.activated_at = timezone.now() - timedelta(minutes=minutes_ago)
    version.save()
    return version


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def activate_url(version: ModelVersion) -> str:
    return reverse("admin:modelversion_activate", args=[version.pk])


def rollback_url(version: ModelVersion) -> str:
    return reverse("admin:modelversion_rollback", args=[version.pk])


@pytest.fixture
def staff_client(client, db):
    """A client logged in as staff allowed to view and change model versions."""
    user = User.objects.create_user("operator", password="pw", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="recommendations",
            codename__in=["view_modelversion", "change_modelversion"],
        )
    )
    client.force_login(user)
    return client


@pytest.fixture
def viewer_client(client, db):
    """A client logged in as staff allowed only to view model versions."""
    user = User.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(
        Permission.objects.get(
            content_type__app_label="recommendations", codename="view_modelversion"
        )
    )
    client.force_login(user)
    return client


def test_changelist_shows_metric_columns(staff_client):
    make_version(metrics={"ndcg@10": 0.43216, "precision@10": 0.38})

    response = staff_client.get(reverse(CHANGELIST))

    content = response.content.decode()
    assert response.status_code == HTTPStatus.OK
    assert "NDCG@10" in content  # the admin capitalizes column headers
    assert "Precision@10" in content
    assert "0.4322" in content
    assert "0.3800" in content
    assert "Retrain now" in content


def test_changelist_filters_by_status(staff_client):
    make_version(status=ModelStatus.READY)
    failed = make_version(status=ModelStatus.FAILED, error="ValueError: boom")

    response = staff_client.get(reverse(CHANGELIST), {"status__exact": "failed"})

    assert list(response.context["cl"].result_list) == [failed]


def test_changelist_filters_by_algorithm(staff_client):
    make_version(algorithm="popularity")
    knn = make_version(algorithm="item_knn")

    response = staff_client.get(reverse(CHANGELIST), {"algorithm": "item_knn"})

    assert list(response.context["cl"].result_list) == [knn]


def test_versions_cannot_be_added(staff_client):
    response = staff_client.get(reverse("admin:recommendations_modelversion_add"))

    assert response.status_code == HTTPStatus.FORBIDDEN


def test_retrain_now_trains_after_commit(
    staff_client, movielens_slice, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = staff_client.post(reverse("admin:modelversion_retrain"), follow=True)

    assert len(callbacks) >= 1
    assert "Queued retraining of the default algorithms." in messages_of(response)
    assert set(ModelVersion.objects.values_list("algorithm", flat=True)) == {
        "popularity",
        "content",
        "item_knn",
    }
    assert ModelVersion.objects.filter(is_active=True).count() == 3


def test_retrain_now_rejects_get(staff_client):
    response = staff_client.get(reverse("admin:modelversion_retrain"))

    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED


def test_retrain_action_queues_selected_algorithms(
    staff_client, movielens_slice, django_capture_on_commit_callbacks
):
    version = make_version(algorithm="popularity", status=ModelStatus.FAILED)

    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(
            reverse(CHANGELIST),
            {"action": "retrain_selected", "_selected_action": [version.pk]},
        )

    trained = ModelVersion.objects.exclude(pk=version.pk)
    assert list(trained.values_list("algorithm", flat=True)) == ["popularity"]


def test_retrain_action_reports_unknown_algorithm(
    staff_client, django_capture_on_commit_callbacks
):
    version = make_version(algorithm="retired_model")

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = staff_client.post(
            reverse(CHANGELIST),
            {"action": "retrain_selected", "_selected_action": [version.pk]},
            follow=True,
        )

    assert callbacks == []
    assert any("retired_model" in text for text in messages_of(response))


def test_activate_button_switches_active_version(staff_client):
    old = activated(make_version(), minutes_ago=10)
    new = make_version()

    response = staff_client.post(activate_url(new), follow=True)

    old.refresh_from_db()
    new.refresh_from_db()
    assert new.is_active
    assert not old.is_active
    assert f"Activated {new.label}." in messages_of(response)


def test_activate_button_rejects_failed_version(staff_client):
    active = activated(make_version(), minutes_ago=10)
    failed = make_version(status=ModelStatus.FAILED)

    response = staff_client.post(activate_url(failed), follow=True)

    active.refresh_from_db()
    failed.refresh_from_db()
    assert active.is_active
    assert not failed.is_active
    assert any("only a ready version" in text for text in messages_of(response))


def test_activate_action_activates_selected(staff_client):
    version = make_version(algorithm="item_knn_test")

    staff_client.post(
        reverse(CHANGELIST),
        {"action": "activate_selected", "_selected_action": [version.pk]},
    )

    version.refresh_from_db()
    assert version.is_active


def test_activate_action_rejects_two_of_one_algorithm(staff_client):
    first = make_version()
    second = make_version()

    response = staff_client.post(
        reverse(CHANGELIST),
        {"action": "activate_selected", "_selected_action": [first.pk, second.pk]},
        follow=True,
    )

    assert not ModelVersion.objects.filter(is_active=True).exists()
    assert any("one version per algorithm" in text for text in messages_of(response))


def test_rollback_button_restores_previous_version(staff_client):
    previous = make_version()
    activated(previous, minutes_ago=60)
    current = make_version()
    activated(current, minutes_ago=5)
    ModelVersion.objects.filter(pk=previous.pk).update(is_active=False)

    response = staff_client.post(rollback_url(current), follow=True)

    previous.refresh_from_db()
    current.refresh_from_db()
    assert previous.is_active
    assert not current.is_active
    assert f"Rolled popularity back to {previous.label}." in messages_of(response)


def test_rollback_skips_failed_versions(staff_client):
    ready = activated(make_version(), minutes_ago=90)
    failed = activated(make_version(), minutes_ago=60)
    ModelVersion.objects.filter(pk=failed.pk).update(status=ModelStatus.FAILED)
    current = activated(make_version(), minutes_ago=5)
    ModelVersion.objects.exclude(pk=current.pk).update(is_active=False)

    staff_client.post(rollback_url(current))

    assert ModelVersion.objects.get(is_active=True) == ready


def test_rollback_without_earlier_version_keeps_active(staff_client):
    current = activated(make_version(), minutes_ago=5)

    response = staff_client.post(rollback_url(current), follow=True)

    current.refresh_from_db()
    assert current.is_active
    assert any("No earlier ready version" in text for text in messages_of(response))


def test_rollback_action_rolls_back_each_algorithm(staff_client):
    previous = activated(make_version(), minutes_ago=60)
    previous.is_active = False
    previous.save()
    current = activated(make_version(), minutes_ago=5)

    staff_client.post(
        reverse(CHANGELIST),
        {"action": "roll_back_selected", "_selected_action": [current.pk]},
    )

    assert ModelVersion.objects.get(is_active=True) == previous


def test_view_only_staff_cannot_activate(viewer_client):
    version = make_version()

    response = viewer_client.post(activate_url(version))

    version.refresh_from_db()
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert not version.is_active


def test_change_form_shows_activate_and_rollback(staff_client):
    version = make_version()

    response = staff_client.get(
        reverse("admin:recommendations_modelversion_change", args=[version.pk])
    )

    content = response.content.decode()
    assert activate_url(version) in content
    assert rollback_url(version) in content


def test_activating_serving_version_precomputes_its_lists(
    staff_client, trained_slice, django_capture_on_commit_callbacks
):
    first = ModelVersion.objects.get(algorithm="item_knn", is_active=True)
    second = training.train("item_knn")
    assert second.is_active

    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(activate_url(first))

    versions = set(UserRecommendations.objects.values_list("model_version", flat=True))
    assert versions == {first.pk}
