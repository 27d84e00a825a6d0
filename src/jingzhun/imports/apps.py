from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "jingzhun.imports"
    label = "imports"
    verbose_name = "数据导入"

    def ready(self) -> None:
        from jingzhun.core import jobs

        from .jobs import KIND

        jobs.register(KIND)  # the worker's sweeper looks after these jobs and their files
