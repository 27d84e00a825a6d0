from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "jingzhun.web"
    label = "web"
    verbose_name = "网页"
