from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "jingzhun.analytics"
    label = "analytics"
    verbose_name = "指标与作战图"

    def ready(self) -> None:
        from jingzhun.core import jobs

        from .actions import KIND

        jobs.register(KIND)  # the worker's sweeper looks after these jobs and their files
