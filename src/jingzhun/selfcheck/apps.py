from django.apps import AppConfig


class SelfcheckConfig(AppConfig):
    name = "jingzhun.selfcheck"
    label = "selfcheck"
    verbose_name = "退出自查"

    def ready(self) -> None:
        from jingzhun.core import hooks
        from jingzhun.core.jobs import JobKind, register

        from .models import DrawJob
        from .selectors import county_exit_sample

        register(JobKind(model=DrawJob))
        # the county exit decision reads the self-check's sample figures (三率一度)
        hooks.on_sample_facts(county_exit_sample)
