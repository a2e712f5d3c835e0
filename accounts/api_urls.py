from django.urls import path

from accounts import api

urlpatterns = [
    path("me/consents/", api.MyConsentsView.as_view(), name="api-my-consents"),
    path("me/export/", api.MyExportView.as_view(), name="api-my-export"),
    path("me/erase/", api.MyErasureView.as_view(), name="api-my-erase"),
    path(
        "users/<int:user_id>/consents/",
        api.UserConsentHistoryView.as_view(),
        name="api-user-consents",
    ),
    path(
        "privacy/erasures/",
        api.ErasureRecordListView.as_view(),
        name="api-erasure-records",
    ),
]
