from django.apps import AppConfig


class PointsConfig(AppConfig):
    name = "jingzhun.points"
    label = "points"
    verbose_name = "积分超市与星级评定"
