from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "jingzhun.exports"
    label = "exports"
    verbose_name = "导出"

    def ready(self) -> None:
        from jingzhun.core import jobs

        from .jobs import KIND

        jobs.register(KIND)  # the worker's sweeper looks after these jobs and their files
