from django.urls import path

from accounts import views

urlpatterns = [
    path("signup/", views.signup, name="account-signup"),
    path("privacy/", views.privacy, name="account-privacy"),
    path("privacy/export/", views.export_download, name="account-export"),
    path("privacy/erase/", views.erase, name="account-erase"),
]
