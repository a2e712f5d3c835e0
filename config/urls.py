from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from recommendations import views as recommendation_views

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="for-you"), name="home"),
    path("for-you/", recommendation_views.for_you, name="for-you"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/", include("accounts.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("config.api_urls")),
    path("api/v1/", include("accounts.api_urls")),
    path("", include("campaigns.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "api/docs/",
        SpectacularSwaggerView.as_view(url_name="api-schema"),
        name="api-docs",
    ),
]

# Unknown paths and crashes under /api/ get the API's error format.
handler404 = "config.api.not_found"
handler500 = "config.api.server_error"
