from django.apps import AppConfig
from django.db.backends.signals import connection_created


class AuditConfig(AppConfig):
    name = "jingzhun.audit"
    label = "audit"
    verbose_name = "审计"

    def ready(self) -> None:
        from .guard import register_sqlite_function
        from .retention import retention_days

        retention_days()  # refuse to start with a retention below 180 days (AUDIT-3)
        # A database hook, not a domain signal: SQLite's trigger needs this function (guard.py).
        connection_created.connect(register_sqlite_function, dispatch_uid="jingzhun_audit_guard")
