"""`jingzhun feeds sources|liaison|load|batches` (issue 22 item 1; ADR 0063).

- `feeds sources [--sync]`: the register of department feeds (catalogue + local liaison).
- `feeds liaison SOURCE USER`: name the feed's liaison ("" clears).
- `feeds load SOURCE FILE [--user U]`: read a roster (.xlsx/.xls/.csv, contained reader), match
  it exactly and print the counts; `--queue` leaves it to `jingzhun worker` instead.
- `feeds load --pending`: run the queued batches here.
- `feeds batches [SOURCE]`: the loaded batches and their counts.
- `feeds rows BATCH [--status unmatched|invalid|matched]`: a batch's rows (masked IDs, reasons).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from tqdm import tqdm

from jingzhun.core.errors import DomainError
from jingzhun.feeds import actions
from jingzhun.feeds.catalogue import catalogue
from jingzhun.feeds.models import FeedBatch, FeedSource

from ._actor import actor_for


class Command(BaseCommand):
    help = "部门数据源：登记、指定联络员、导入名册并精确比对。"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="what", required=True)
        sources = sub.add_parser("sources", help="列出部门数据源（--sync 先按目录同步）")
        sources.add_argument("--sync", action="store_true")
        sources.add_argument("--user", default="")
        liaison = sub.add_parser("liaison", help="指定数据源联络员")
        liaison.add_argument("source")
        liaison.add_argument("username")
        liaison.add_argument("--user", default="")
        load = sub.add_parser("load", help="导入部门名册并精确比对")
        load.add_argument("source", nargs="?")
        load.add_argument("file", nargs="?")
        load.add_argument("--user", default="", help="报送账号（默认：该数据源的联络员）")
        load.add_argument("--queue", action="store_true", help="交给 jingzhun worker 处理")
        load.add_argument("--pending", action="store_true", help="处理排队中的名册")
        match = sub.add_parser(
            "match", help="重新精确比对一个已导入批次（DuckDB 或 Apache Spark；服务器管理员）"
        )
        match.add_argument("batch", type=int)
        match.add_argument("--engine", choices=["duckdb", "spark"], default="duckdb")
        match.add_argument(
            "--master", default=None, help="Spark 主节点 URL（--engine spark）：默认 local[*]"
        )
        batches = sub.add_parser("batches", help="列出已导入的名册批次")
        batches.add_argument("source", nargs="?")
        rows = sub.add_parser("rows", help="列出一个批次的未匹配、无效行（脱敏）")
        rows.add_argument("batch", type=int)
        rows.add_argument(
            "--status",
            choices=["unmatched", "invalid", "matched"],
            default=None,
            help="只列该匹配结果的行（默认：未匹配和无效）",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, f"_{options['what']}")(options)
        except DomainError as exc:
            raise CommandError(exc.message) from exc

    def _sources(self, options: dict[str, Any]) -> None:
        if options["sync"]:
            actions.do_sync_feed_sources(actor=actor_for(options["user"]))
        cat = catalogue()
        local = {s.code: s for s in FeedSource.objects.select_related("liaison")}
        for feed in cat.feeds.values():
            source = local.get(feed.code)
            liaison = source.liaison.username if source and source.liaison else "—"
            state = "未登记" if source is None else ("启用" if source.active else "停用")
            columns = "、".join(
                f"{col.label}" + (f"[{col.field}]" if col.field else "") for col in feed.columns
            )
            self.stdout.write(
                f"{feed.code:<20} {feed.name}（{feed.department}）{feed.schedule}；"
                f"联络员 {liaison}；{state}\n    列：{columns}"
            )

    def _liaison(self, options: dict[str, Any]) -> None:
        source = actions.do_set_feed_liaison(
            options["source"], options["username"], actor=actor_for(options["user"])
        )
        name = source.liaison.username if source.liaison else "（无）"
        self.stdout.write(f"数据源 {source.code} 的联络员：{name}")

    def _load(self, options: dict[str, Any]) -> None:
        if options["pending"]:
            done = actions.run_pending()
            self.stdout.write(f"已处理 {len(done)} 个排队中的名册。")
            return
        if not options["source"] or not options["file"]:
            raise CommandError(
                "用法：jingzhun feeds load SOURCE FILE（或 --pending）", returncode=2
            )
        source = FeedSource.objects.filter(code=options["source"]).first()
        if source is None:
            raise CommandError(
                f"数据源“{options['source']}”未登记：先运行 jingzhun feeds sources --sync。",
                returncode=2,
            )
        path = Path(options["file"])
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"无法读取文件 {path}：{exc.strerror}", returncode=2) from exc
        if options["user"]:
            actor = actor_for(options["user"])
        elif source.liaison is not None:
            actor = source.liaison
        else:
            raise CommandError("该数据源未指定联络员：请用 --user 指定报送账号。", returncode=2)
        origin = "upload" if options["queue"] else "command"
        with transaction.atomic():
            submitted = actions.do_submit_roster(
                source.code, path.name, data, actor=actor, origin=origin
            )
        batch = submitted.batch
        if not submitted.created:
            self.stdout.write(f"该名册已导入过（批次 {batch.pk}），未重复保存。")
            self._report(batch)
            return
        if options["queue"]:
            self.stdout.write(f"批次 {batch.pk} 已排队，由 jingzhun worker 处理。")
            return
        with tqdm(desc="比对", unit="行", file=self.stderr._out, disable=None) as bar:

            def progress(done: int, _total: int) -> None:
                bar.update(done - bar.n)

            result = actions.run_batch(batch.pk, progress)
        assert result is not None
        if result.status == "failed":
            raise CommandError(result.error)
        self._report(result)

    def _report(self, batch: FeedBatch) -> None:
        self.stdout.write(
            f"批次 {batch.pk}（{batch.source.code}）：共 {batch.rows_total} 行，"
            f"匹配 {batch.matched}，未匹配 {batch.unmatched}，证件号码无效或缺失 {batch.invalid}"
        )

    def _match(self, options: dict[str, Any]) -> None:
        from jingzhun.feeds.bulk_match import do_match_batch

        result = do_match_batch(
            options["batch"], actor=None, engine=options["engine"], master=options["master"]
        )
        timing = "，".join(f"{k} {v:.2f} 秒" for k, v in result["seconds"].items())
        self.stdout.write(
            f"批次 {options['batch']}（{options['engine']}）：比对到 {result['found']} 行；"
            f"现匹配 {result['matched']}，未匹配 {result['unmatched']}。耗时：{timing}"
        )

    def _batches(self, options: dict[str, Any]) -> None:
        batches = FeedBatch.objects.select_related("source").order_by("pk")
        if options["source"]:
            batches = batches.filter(source__code=options["source"])
        for batch in batches:
            self.stdout.write(
                f"{batch.pk:>6} {batch.source.code:<20} {batch.get_status_display()} "
                f"{batch.rows_total} 行：匹配 {batch.matched}，未匹配 {batch.unmatched}，"
                f"无效 {batch.invalid} {batch.error[:80]}"
            )

    def _rows(self, options: dict[str, Any]) -> None:
        batch = FeedBatch.objects.filter(pk=options["batch"]).select_related("source").first()
        if batch is None:
            raise CommandError(f"找不到批次 {options['batch']}", returncode=2)
        wanted = [options["status"]] if options["status"] else ["unmatched", "invalid"]
        rows = batch.rows.filter(status__in=wanted).select_related("household")
        for row in rows.order_by("row_number"):
            where = row.household.household_code if row.household else ""
            reason = "；".join(p for p in (row.id_problem, row.problems) if p)
            self.stdout.write(
                f"{row.row_number:>7} {row.get_status_display()} {row.id_masked} {row.name} "
                f"{where} {reason}".rstrip()
            )
