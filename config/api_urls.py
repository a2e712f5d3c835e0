"""Routes of version 1 of the REST API, mounted under /api/v1/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from catalog.api import ItemViewSet
from config.api import PingView
from recommendations import api as recommendation_api

router = SimpleRouter()
router.register("items", ItemViewSet, basename="item")
router.register("models", recommendation_api.ModelVersionViewSet, basename="model")

urlpatterns = [
    path("ping/", PingView.as_view(), name="api-ping"),
    path(
        "me/recommendations/",
        recommendation_api.MyRecommendationsView.as_view(),
        name="api-my-recommendations",
    ),
    path(
        "users/<int:user_id>/recommendations/",
        recommendation_api.UserRecommendationsView.as_view(),
        name="api-user-recommendations",
    ),
    path(
        "items/<int:item_id>/similar/",
        recommendation_api.SimilarItemsView.as_view(),
        name="api-similar-items",
    ),
    path("events/", recommendation_api.EventsView.as_view(), name="api-events"),
    path(
        "models/retrain/",
        recommendation_api.RetrainView.as_view(),
        name="api-retrain",
    ),
    path(
        "models/training/",
        recommendation_api.TrainingStatusView.as_view(),
        name="api-training-status",
    ),
    *router.urls,
]
