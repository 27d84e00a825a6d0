from django.apps import AppConfig


class FeedsConfig(AppConfig):
    name = "jingzhun.feeds"
    label = "feeds"
    verbose_name = "部门筛查预警"

    def ready(self) -> None:
        from jingzhun.core import hooks, jobs

        from . import actions
        from .models import FeedBatch

        jobs.register(jobs.JobKind(FeedBatch, files=actions.batch_files))
        # workflows (below) asks before an approval whether a red-line flag stands (ADR 0063)
        hooks.on_approval_check(actions.approval_problems)
