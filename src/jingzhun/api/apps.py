from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "jingzhun.api"
    label = "api"
    verbose_name = "接口"
