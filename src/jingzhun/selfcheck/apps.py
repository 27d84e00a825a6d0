from django.apps import AppConfig


class SelfcheckConfig(AppConfig):
    name = "jingzhun.selfcheck"
    label = "selfcheck"
    verbose_name = "退出自查"

    def ready(self) -> None:
        from jingzhun.core.jobs import JobKind, register

        from .models import DrawJob

        register(JobKind(model=DrawJob))
