from django.apps import AppConfig


class AssessmentsConfig(AppConfig):
    name = "jingzhun.assessments"
    label = "assessments"
    verbose_name = "标准判定"

    def ready(self) -> None:
        from jingzhun.core import hooks, jobs

        from .jobs import KIND, request_reassessment

        jobs.register(KIND)  # the worker's sweeper marks a dead worker's re-assessment failed
        # a registry income write asks for its households to be judged again (ADR 0052)
        hooks.on_incomes_written(request_reassessment)
