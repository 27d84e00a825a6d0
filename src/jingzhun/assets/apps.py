from django.apps import AppConfig


class AssetsConfig(AppConfig):
    name = "jingzhun.assets"
    label = "assets"
    verbose_name = "项目资产"
