from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    name = "jingzhun.workflows"
    label = "workflows"
    verbose_name = "业务办理"
