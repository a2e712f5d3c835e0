from django.urls import path

from campaigns import views

app_name = "campaigns"

urlpatterns = [
    path("c/<slug:slug>/", views.campaign_page, name="page"),
    path("r/<str:token>/", views.click, name="click"),
    path("o/<str:token>/pixel.gif", views.open_pixel, name="open"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
