from django.apps import AppConfig


class DutyConfig(AppConfig):
    name = "jingzhun.duty"
    label = "duty"
    verbose_name = "责任与调度"
