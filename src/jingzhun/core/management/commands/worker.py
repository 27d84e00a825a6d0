"""`jingzhun worker [--batch]`: run the background jobs (imports, indicator refreshes) queued by
the web pages and commands, one at a time, in this process (core.jobs, ADR 0049).

The queue is django-tasks-db's (`db_worker` is its own worker; this one wraps it): the worker id
is this process (`host:pid`), so that a sweeper can tell a dead worker's jobs. The sweeper runs
at start and every `--sweep-every` seconds: jobs whose worker died are marked failed with the
reason, and the files of failed or abandoned jobs are removed after JOB_RETENTION_DAYS.
"""

from __future__ import annotations

import logging
import signal
import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections
from django_tasks import DEFAULT_TASK_BACKEND_ALIAS, DEFAULT_TASK_QUEUE_NAME
from django_tasks_db.management.commands.db_worker import Worker

from jingzhun.core.jobs import sweep, worker_name

log = logging.getLogger("jingzhun.worker")


class Command(BaseCommand):
    help = (
        "运行后台任务（数据导入、指标刷新），逐个执行；启动时及每隔几分钟清理中断的任务和过期文件。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch", action="store_true", help="运行完排队中的任务后退出（默认一直运行）"
        )
        parser.add_argument(
            "--interval", type=float, default=1.0, help="无任务时每隔多少秒查看一次队列（默认 1）"
        )
        parser.add_argument(
            "--sweep-every", type=float, default=300.0, help="每隔多少秒清理一次（默认 300）"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        interval = max(0.0, float(options["interval"]))
        every = max(1.0, float(options["sweep_every"]))
        worker = Worker(
            queue_names=[DEFAULT_TASK_QUEUE_NAME],
            interval=interval,
            batch=True,  # run what is queued, then come back here to sweep and wait
            backend_name=DEFAULT_TASK_BACKEND_ALIAS,
            startup_delay=False,
            max_tasks=None,
            worker_id=worker_name(),
            excluded_queue_names=[],
        )
        stops = [getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGQUIT") if hasattr(signal, n)]
        previous = {signum: signal.getsignal(signum) for signum in stops}
        worker.configure_signals()  # SIGINT/SIGTERM: finish the running job, then stop
        self.stdout.write(f"后台任务进程 {worker.worker_id} 已启动。")
        self.stdout.flush()
        swept = 0.0
        try:
            while worker.running:
                if time.monotonic() - swept >= every:
                    self._sweep()
                    swept = time.monotonic()
                worker.run()
                if options["batch"]:
                    break
                if worker.running:
                    time.sleep(interval)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            close_old_connections()

    def _sweep(self) -> None:
        try:
            result = sweep()
        except Exception:  # a sweep that fails must not stop the jobs; the next one tries again
            log.exception("sweep failed")
            return
        for label, count in result.failed.items():
            self.stderr.write(f"{label}：{count} 个任务已标记为失败（执行进程中断或超过保留期）。")
        if result.files:
            self.stderr.write(f"已删除过期任务文件 {result.files} 个。")
        sys.stderr.flush()
