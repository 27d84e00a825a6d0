from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "jingzhun.exports"
    label = "exports"
    verbose_name = "导出"
