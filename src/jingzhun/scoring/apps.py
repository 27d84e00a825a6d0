from django.apps import AppConfig


class ScoringConfig(AppConfig):
    name = "jingzhun.scoring"
    label = "scoring"
    verbose_name = "考核"

    def ready(self) -> None:
        from jingzhun.core import jobs

        from . import actions, sources

        sources.register_builtin()  # the figures that exist: battle map, inspection, teams
        jobs.register(actions.KIND)  # the sweeper looks after scoring jobs
