from django.apps import AppConfig


class CreditConfig(AppConfig):
    name = "jingzhun.credit"
    label = "credit"
    verbose_name = "小额信贷"

    def ready(self) -> None:
        from jingzhun.core import jobs

        from . import statements
        from .models import StatementImport

        jobs.register(jobs.JobKind(StatementImport, files=statements.job_files))
