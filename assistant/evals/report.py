"""Rendering a report: the terminal summary and the `report.json`, `.md` and `.html` files."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from assistant.evals.formatting import _clip, _fmt, _md_cell
from assistant.evals.metrics import (
    _OPTIONAL_METRICS,
    _PER_CASE_METRICS,
    LATENCY_METRICS,
    METRICS,
    RETRIEVAL_METRICS,
    TOKEN_METRICS,
)
from assistant.evals.results import CaseResult, EvalReport, calibrated_gate


def render_summary(report: EvalReport) -> str:
    """A plain-text table of the report's metrics for the terminal."""
    lines = [
        f"suite {report.suite}: {len(report.cases)} cases in {report.seconds:.1f} s, "
        f"model {report.model}, settings {report.settings_hash}"
        + (f", {report.errors} errors" if report.errors else ""),
        "",
        f"{'metric':<24} {'value':>9}  {'cases':>5}",
        f"{'-' * 24} {'-' * 9}  {'-' * 5}",
    ]
    for name in METRICS:
        value = report.metrics.get(name)
        if (
            value is None
            and report.counts.get(name, 0) == 0
            and (report.retrieval_only or name in (*_OPTIONAL_METRICS, *TOKEN_METRICS))
        ):
            continue  # optional metrics that this run did not produce
        lines.append(f"{name:<24} {_fmt(name, value):>9}  {report.counts.get(name, 0):>5}")
    if report.by_tag:
        keys: tuple[str, ...] = (
            "answer_contains_gold",
            "answer_semantic_match",
            "answer_f1",
            "citation_precision",
            "citation_recall",
            "abstention_rate",
        )
        short: tuple[str, ...] = ("contains", "semantic", "f1", "cit_p", "cit_r", "abstain")
        if report.retrieval_only:
            keys, short = RETRIEVAL_METRICS, ("recall@k", "mrr", "@10", "@20")
        lines += ["", f"{'tag':<20} {'cases':>5} " + " ".join(f"{s:>8}" for s in short)]
        for tag, metrics in report.by_tag.items():
            n = sum(1 for c in report.cases if tag in c.tags)
            lines.append(
                f"{_clip(tag, 20):<20} {n:>5} "
                + " ".join(f"{_fmt(k, metrics.get(k)):>8}" for k in keys)
            )
    return "\n".join(lines)


def worst_cases(report: EvalReport, n: int = 10) -> list[CaseResult]:
    """The n worst cases: wrong before right, then by answer F1 and citation recall."""

    def badness(case: CaseResult) -> tuple[bool, float, float]:
        f1 = case.scores.get("answer_f1")
        recall = case.scores.get("citation_recall")
        return (case.correct, f1 if f1 is not None else 0.0, recall if recall is not None else 0.0)

    return sorted(report.cases, key=badness)[:n]


def write_reports(report: EvalReport, out_dir: Path) -> list[Path]:
    """Write `report.json`, `report.md` and `report.html` into `out_dir` (created if needed).

    Returns:
        The three paths, in that order.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "report.json", out_dir / "report.md", out_dir / "report.html"]
    paths[0].write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")
    paths[1].write_text(_render_markdown(report), encoding="utf-8")
    paths[2].write_text(_render_html(report), encoding="utf-8")
    return paths


_TAG_KEYS: tuple[str, ...] = (
    "answer_contains_gold",
    "answer_semantic_match",
    "answer_f1",
    "citation_precision",
    "citation_recall",
    "retrieval_recall_at_k",
    "abstention_rate",
    "false_abstention_rate",
)


# --- Markdown -------------------------------------------------------------------------------


def _render_markdown(report: EvalReport) -> str:
    lines = [
        *_md_metrics(report),
        *_md_by_tag(report),
        *_md_tradeoff(report),
        *_md_worst_cases(report),
    ]
    return "\n".join(lines) + "\n"


def _md_metrics(report: EvalReport) -> list[str]:
    started = f"{report.started:%Y-%m-%d %H:%M}"
    lines = [
        f"# Eval report: {_md_cell(report.suite)}",
        "",
        f"{len(report.cases)} cases, {report.seconds:.1f} s, model `{report.model}`, "
        f"settings `{report.settings_hash}`, top-k {report.k}, started {started} UTC."
        + (f" Corpus: {_md_cell(report.corpus)}." if report.corpus else ""),
        "",
        "| metric | value | cases |",
        "| --- | ---: | ---: |",
    ]
    for name in METRICS:
        value = _fmt(name, report.metrics.get(name))
        lines.append(f"| {name} | {value} | {report.counts.get(name, 0)} |")
    return lines


def _md_by_tag(report: EvalReport) -> list[str]:
    if not report.by_tag:
        return []
    lines = [
        "",
        "## By tag",
        "",
        "| tag | cases | " + " | ".join(_TAG_KEYS) + " |",
        "| --- " * (len(_TAG_KEYS) + 2) + "|",
    ]
    for tag, metrics in report.by_tag.items():
        n = sum(1 for c in report.cases if tag in c.tags)
        values = " | ".join(_fmt(k, metrics.get(k)) for k in _TAG_KEYS)
        lines.append(f"| {_md_cell(tag)} | {n} | {values} |")
    return lines


def _md_tradeoff(report: EvalReport) -> list[str]:
    if not report.abstention_tradeoff:
        return []
    gate = calibrated_gate(report.abstention_tradeoff)
    return [
        "",
        "## Abstention trade-off by relevance gate",
        "",
        f"The run's gate (`min_relevance`) was {report.min_relevance}; each row is what a "
        "higher gate would have given (exact: a case under the gate abstains without a "
        f"model call). Best separation (abstention minus false abstention) at {gate}.",
        "",
        *_md_tradeoff_table(report.abstention_tradeoff),
    ]


def _md_tradeoff_table(rows: Sequence[Mapping[str, float]]) -> list[str]:
    """`abstention_tradeoff` rows as a Markdown table."""
    lines = [
        "| gate | abstention | false abstention | abstention precision | contains gold |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        lines.append(
            f"| {row['threshold']:.2f} | {row['abstention_rate']:.3f} | "
            f"{row['false_abstention_rate']:.3f} | {row['abstention_precision']:.3f} | "
            f"{row['answer_contains_gold']:.3f} |"
        )
    return lines


def _md_worst_cases(report: EvalReport) -> list[str]:
    lines = [
        "",
        "## Worst cases",
        "",
        "| id | question | gold | answer | abstained | contains | semantic | f1 | cit. recall |",
        "| --- | --- | --- | --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for case in worst_cases(report):
        gold = " / ".join(case.gold) if case.gold else "(unanswerable)"
        cells = [
            case.id,
            _clip(case.question, 120),
            _clip(gold, 60),
            _clip(case.error or case.answer, 160),
            "yes" if case.abstained else "no",
            _fmt("answer_contains_gold", case.scores.get("answer_contains_gold")),
            _fmt("answer_semantic_match", case.scores.get("answer_semantic_match")),
            _fmt("answer_f1", case.scores.get("answer_f1")),
            _fmt("citation_recall", case.scores.get("citation_recall")),
        ]
        lines.append("| " + " | ".join(_md_cell(c) for c in cells) + " |")
    return lines


# --- HTML -----------------------------------------------------------------------------------

_CSS = """
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem}
body{color:#1d1d1f}h1{margin-bottom:.2rem}.meta{color:#555}
table{border-collapse:collapse;margin:1rem 0}
td,th{border-bottom:1px solid #ddd;padding:.25rem .6rem;text-align:left;vertical-align:top}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.charts{display:flex;flex-wrap:wrap;gap:1rem}
figure{margin:0;border:1px solid #e5e5e5;border-radius:6px;padding:.5rem}
figcaption{font-weight:600;font-size:.9rem}
details{border:1px solid #e5e5e5;border-radius:6px;margin:.4rem 0;padding:.3rem .6rem}
summary{cursor:pointer}.ok{color:#0a7d32}.bad{color:#b3261e}.abst{color:#8a5a00}
blockquote{margin:.3rem 0 .3rem 1rem;padding-left:.6rem;border-left:3px solid #7aa7e0}
blockquote.invalid{border-left-color:#d88}.small{font-size:.85rem;color:#555}
pre{white-space:pre-wrap;margin:0;font:inherit}
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _svg_bars(
    items: Sequence[tuple[str, float | None]],
    *,
    scale: float,
    unit: str = "",
    integers: bool = False,
) -> str:
    """A horizontal bar chart in inline SVG; values are drawn against `scale`."""
    row, label_w, bar_w = 22, 190, 260
    height = row * len(items) + 6
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + bar_w + 80}" '
        f'height="{height}" role="img">'
    ]
    for i, (label, value) in enumerate(items):
        y = i * row + 4
        share = 0.0 if value is None or scale <= 0 else max(0.0, min(1.0, value / scale))
        if value is None:
            text = "n/a"
        else:
            text = f"{value:.0f}{unit}" if unit or integers else f"{value:.2f}"
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end" font-size="12">'
            f"{_e(label)}</text>"
            f'<rect x="{label_w}" y="{y}" width="{bar_w}" height="16" fill="#eef2f7"/>'
            f'<rect x="{label_w}" y="{y}" width="{share * bar_w:.1f}" height="16" '
            f'fill="#3b73c4"/>'
            f'<text x="{label_w + bar_w + 6}" y="{y + 13}" font-size="12">{_e(text)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _figure(caption: str, svg: str) -> str:
    return f"<figure><figcaption>{_e(caption)}</figcaption>{svg}</figure>"


def _histogram(values: Sequence[float], bins: int = 5) -> list[tuple[str, float]]:
    """Counts of values in [0, 1] over equal bins, labelled by range."""
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, max(0, int(v * bins)))] += 1
    return [(f"{i / bins:.1f}–{(i + 1) / bins:.1f}", float(c)) for i, c in enumerate(counts)]


def _render_html(report: EvalReport) -> str:
    out = [
        *_html_head(report),
        *_html_summary(report),
        *_html_tradeoff(report),
        *_html_distributions(report),
        *_html_by_tag(report),
        '<h2>Cases</h2><p class="small">Worst first. ✓ correct, ✗ wrong; an unanswerable '
        "case is correct when the assistant abstained. Click a case for its cited quotes.</p>",
        *(_render_case_html(case) for case in worst_cases(report, n=len(report.cases))),
        "</body></html>",
    ]
    return "\n".join(out) + "\n"


def _html_head(report: EvalReport) -> list[str]:
    """The document head, the title and the run's facts (and description)."""
    meta = [
        f"{len(report.cases)} cases",
        f"{report.seconds:.1f} s",
        f"model {report.model}",
        f"settings {report.settings_hash}",
        f"top-k {report.k}",
        f"started {report.started.isoformat(timespec='seconds')}",
    ]
    if report.corpus:
        meta.append(f"corpus {report.corpus}")
    out = [
        '<!doctype html><html lang="en"><head><meta charset="utf-8">',
        f"<title>Eval report: {_e(report.suite)}</title><style>{_CSS}</style></head><body>",
        f"<h1>Eval report: {_e(report.suite)}</h1>",
        '<p class="meta">'
        + " · ".join(_e(m) for m in meta)
        + (f' · <span class="bad">{report.errors} errors</span>' if report.errors else "")
        + "</p>",
    ]
    if report.description:
        out.append(f"<p>{_e(report.description)}</p>")
    return out


def _html_summary(report: EvalReport) -> list[str]:
    """The metrics table, then charts of the rates, the latencies and the prompt sizes."""
    rates = [m for m in METRICS if m not in LATENCY_METRICS and m not in TOKEN_METRICS]
    rates = [m for m in rates if not (m in _OPTIONAL_METRICS and report.counts.get(m, 0) == 0)]
    out = ["<h2>Summary</h2><table><tr><th>metric</th><th>value</th><th>cases</th></tr>"]
    for name in METRICS:
        value = _fmt(name, report.metrics.get(name))
        out.append(
            f'<tr><td>{_e(name)}</td><td class="num">{_e(value)}</td>'
            f'<td class="num">{report.counts.get(name, 0)}</td></tr>'
        )
    out.append('</table><div class="charts">')
    out.append(
        _figure("Scores (0–1)", _svg_bars([(m, report.metrics.get(m)) for m in rates], scale=1))
    )
    latency = [(m, report.metrics.get(m)) for m in LATENCY_METRICS]
    top = max((v for _, v in latency if v is not None), default=0.0)
    out.append(_figure("Latency", _svg_bars(latency, scale=top, unit=" ms")))
    tokens = [(m, v) for m in TOKEN_METRICS if (v := report.metrics.get(m)) is not None]
    if tokens:
        most = max(v for _, v in tokens if v is not None)
        out.append(_figure("Prompt size (tokens)", _svg_bars(tokens, scale=most, integers=True)))
    out.append("</div>")
    return out


def _html_tradeoff(report: EvalReport) -> list[str]:
    if not report.abstention_tradeoff:
        return []
    gate = calibrated_gate(report.abstention_tradeoff)
    out = [
        "<h2>Abstention trade-off by relevance gate</h2>"
        f"<p>The run's gate was {_e(report.min_relevance)}; best separation at {_e(gate)}."
        "</p><table><tr><th>gate</th><th>abstention</th><th>false abstention</th>"
        "<th>abstention precision</th><th>contains gold</th></tr>"
    ]
    for row in report.abstention_tradeoff:
        cells = "".join(
            f'<td class="num">{row[k]:.3f}</td>'
            for k in (
                "abstention_rate",
                "false_abstention_rate",
                "abstention_precision",
                "answer_contains_gold",
            )
        )
        out.append(f'<tr><td class="num">{row["threshold"]:.2f}</td>{cells}</tr>')
    out.append("</table>")
    return out


def _html_distributions(report: EvalReport) -> list[str]:
    """A histogram over cases of each per-case metric, and of the total latency."""
    out = ['<h2>Per metric: distribution over cases</h2><div class="charts">']
    for name in _PER_CASE_METRICS:
        values = [v for c in report.cases if (v := c.scores.get(name)) is not None]
        if values:
            hist = _histogram(values)
            mean = _fmt(name, report.metrics.get(name))
            caption = f"{name}: mean {mean} over {len(values)} cases (cases per bucket)"
            chart = _svg_bars(hist, scale=max(c for _, c in hist), integers=True)
            out.append(_figure(caption, chart))
    totals = [c.timings["total_ms"] for c in report.cases if "total_ms" in c.timings]
    if totals:
        high = max(totals) or 1.0
        hist = [
            (f"≤ {high * (i + 1) / 5:.0f} ms", count)
            for i, (_, count) in enumerate(_histogram([t / high for t in totals]))
        ]
        chart = _svg_bars(hist, scale=max(c for _, c in hist), integers=True)
        out.append(_figure("total latency: cases per bucket", chart))
    out.append("</div>")
    return out


def _html_by_tag(report: EvalReport) -> list[str]:
    if not report.by_tag:
        return []
    out = ["<h2>By tag</h2><table><tr><th>tag</th><th>cases</th>"]
    # spaces, not underscores, so the long metric names can wrap in a narrow window
    out.extend(f"<th>{_e(k.replace('_', ' '))}</th>" for k in _TAG_KEYS)
    out.append("</tr>")
    for tag, metrics in report.by_tag.items():
        n = sum(1 for c in report.cases if tag in c.tags)
        out.append(f'<tr><td>{_e(tag)}</td><td class="num">{n}</td>')
        out.extend(f'<td class="num">{_e(_fmt(k, metrics.get(k)))}</td>' for k in _TAG_KEYS)
        out.append("</tr>")
    out.append('</table><div class="charts">')
    for key in ("answer_contains_gold", "citation_recall", "abstention_rate"):
        items = [(tag, m[key]) for tag, m in report.by_tag.items() if m.get(key) is not None]
        if items:
            out.append(_figure(f"{key} by tag", _svg_bars(items, scale=1.0)))
    out.append("</div>")
    return out


def _render_case_html(case: CaseResult) -> str:
    mark = '<span class="ok">✓</span>' if case.correct else '<span class="bad">✗</span>'
    flag = ' <span class="abst">(abstained)</span>' if case.abstained else ""
    out = [f"<details><summary>{mark} <code>{_e(case.id)}</code> {_e(case.question)}{flag}"]
    out.append("</summary><table>")
    scores = " · ".join(f"{k} {_fmt(k, v)}" for k, v in case.scores.items() if v is not None)
    timings = " · ".join(f"{k} {v:.0f}" for k, v in case.timings.items() if k.endswith("_ms"))
    ranked = list(dict.fromkeys(case.retrieved))
    rows = [
        ("gold", ", ".join(case.gold) if case.gold else "(unanswerable)"),
        ("gold articles", ", ".join(case.article_ids) or "-"),
        ("asked as of", case.question_date.isoformat() if case.question_date else "-"),
        ("tags", ", ".join(case.tags) or "-"),
        ("answer", case.error or case.answer),
        ("scores", scores or "-"),
        ("timings (ms)", timings or "-"),
        ("retrieved articles", ", ".join(ranked) or "-"),
    ]
    out.extend(f"<tr><th>{_e(k)}</th><td><pre>{_e(v)}</pre></td></tr>" for k, v in rows)
    out.append("</table>")
    for cit in case.citations:
        valid = cit.get("valid")
        css = ' class="invalid"' if valid is False else ""
        verdict = {None: "", True: " · supports its sentence", False: " · not valid"}[valid]
        out.append(
            f'<p class="small">[{_e(cit.get("n", "?"))}] {_e(cit.get("title", ""))} '
            f"(<code>{_e(cit.get('article_id', ''))}</code>{_e(verdict)})</p>"
            f"<blockquote{css}>{_e(cit.get('quote', ''))}</blockquote>"
        )
    if not case.citations:
        out.append('<p class="small">No citations.</p>')
    out.append("</details>")
    return "".join(out)
