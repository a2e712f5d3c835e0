from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from recommendations import api as recommendation_api
from recommendations import views as recommendation_views

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="for-you"), name="home"),
    path("for-you/", recommendation_views.for_you, name="for-you"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("", include("campaigns.urls")),
    path(
        "api/v1/me/recommendations/",
        recommendation_api.MyRecommendationsView.as_view(),
        name="api-my-recommendations",
    ),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "api/docs/",
        SpectacularSwaggerView.as_view(url_name="api-schema"),
        name="api-docs",
    ),
]
