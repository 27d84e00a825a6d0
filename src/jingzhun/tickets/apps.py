from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "jingzhun.tickets"
    label = "tickets"
    verbose_name = "诉求工单"
