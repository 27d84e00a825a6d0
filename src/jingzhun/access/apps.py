from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "jingzhun.access"
    label = "access"
    verbose_name = "权限"
