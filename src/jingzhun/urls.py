from django.urls import include, path

urlpatterns = [
    path("api/", include("jingzhun.api.urls")),
    path("", include("jingzhun.web.urls")),
]

handler403 = "jingzhun.web.account_views.permission_denied"
handler404 = "jingzhun.web.account_views.page_not_found"
