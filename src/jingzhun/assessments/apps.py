from django.apps import AppConfig


class AssessmentsConfig(AppConfig):
    name = "jingzhun.assessments"
    label = "assessments"
    verbose_name = "标准判定"

    def ready(self) -> None:
        from jingzhun.core import jobs

        from .jobs import KIND

        jobs.register(KIND)  # the worker's sweeper marks a dead worker's re-assessment failed
