from django.apps import AppConfig


class InspectionConfig(AppConfig):
    name = "jingzhun.inspection"
    label = "inspection"
    verbose_name = "督查整改"
