from django.urls import path

from . import views

app_name = "web"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("login/", views.login, name="login"),
    path("logout/", views.logout, name="logout"),
    path("i18n/setlang/", views.set_language, name="set_language"),
    path("households/", views.household_list, name="households"),
    path("households/<int:household_id>/", views.household_detail, name="household"),
]
