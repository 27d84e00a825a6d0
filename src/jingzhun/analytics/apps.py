from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "jingzhun.analytics"
    label = "analytics"
    verbose_name = "指标与作战图"

    def ready(self) -> None:
        from jingzhun.core import hooks, jobs

        from .actions import KIND, request_refresh

        jobs.register(KIND)  # the worker's sweeper looks after these jobs and their files
        # writes of apps below this one (the import commit) ask for their counties' refresh
        hooks.on_regions_written(request_refresh)
