from django.apps import AppConfig


class AssessmentsConfig(AppConfig):
    name = "jingzhun.assessments"
    label = "assessments"
    verbose_name = "标准判定"
