from django.apps import AppConfig


class ProjectsConfig(AppConfig):
    name = "jingzhun.projects"
    label = "projects"
    verbose_name = "项目资金"

    def ready(self) -> None:
        from jingzhun.core import jobs

        from . import posting_jobs
        from .models import PostingImport

        jobs.register(jobs.JobKind(PostingImport, files=posting_jobs.job_files))
