"""Figures 5a and 6b: `assistant serve` start-up time and memory, idle and under 4 questions.

The server runs as a child process on a free port of 127.0.0.1 over a store holding seeds/.
Ready means its page answers HTTP 200. The server then loads the models in the background;
once its CPU time stops growing it is idle, and its peak RSS (VmHWM) is read. Four questions
are then sent at once through the Gradio API (gradio_client, the chat's own `/ask` endpoint) and
the peak RSS is read again. The child is stopped at the end, whatever happens.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from benchmarks import SEEDS, SEEDS_SUITE, Bench, child_env, peak_rss_mb, read_jsonl, rounded, row
from benchmarks.bench_coldstart import cli_command
from benchmarks.scale import free_port

READY_TIMEOUT_S = 180.0
IDLE_TIMEOUT_S = 300.0
QUESTION_TIMEOUT_S = 600.0
CONCURRENT = 4


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads), from /proc."""
    import os

    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"assistant serve exited with {proc.returncode} before ready")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"assistant serve was not ready within {timeout:g} s")
        time.sleep(0.1)


def _wait_idle(pid: int, timeout: float, quiet_s: float = 3.0) -> float:
    """Wait until the process used under 5% of a core for `quiet_s`; returns seconds waited."""
    started = time.monotonic()
    last = _cpu_seconds(pid)
    while time.monotonic() - started < timeout:
        time.sleep(quiet_s)
        now = _cpu_seconds(pid)
        if now - last < 0.05 * quiet_s:
            break
        last = now
    return time.monotonic() - started


def _ask_all(url: str, questions: list[str]) -> tuple[list[str], list[str]]:
    """Send the questions at once, one thread and client each; returns (answers, errors)."""
    from gradio_client import Client

    errors: list[str] = []
    answers: list[str] = []

    def ask(question: str) -> None:
        try:
            client = Client(url, verbose=False)
            result = client.predict(question, [], "local:default", 5, 0.0, api_name="/ask")
            shown = json.dumps(result, default=str)
            if "went wrong" in shown or "busy" in shown:
                errors.append(f"the chat said: {shown[:200]}")
            answers.append(shown)
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {str(exc)[:200]}")

    threads = [threading.Thread(target=ask, args=(q,)) for q in questions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(QUESTION_TIMEOUT_S)
    return answers, errors


def run(bench: Bench) -> dict[str, Any]:
    """Start the server, time it to ready, read its memory idle and under load."""
    from assistant.chain import Assistant

    settings = bench.settings("serve")
    report = Assistant(settings, embedder=bench.embedder).ingest([SEEDS])
    if report.errors:
        raise RuntimeError(f"ingest of seeds/: {report.errors[0]}")
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    log_path = bench.work / "serve.log"
    command = [
        *cli_command(),
        "--data-dir",
        str(settings.data_dir),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    questions = [c["question"] for c in read_jsonl(SEEDS_SUITE)][:CONCURRENT]
    with log_path.open("wb") as log:
        started = time.perf_counter()
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=child_env())
        try:
            _wait_ready(url, proc, READY_TIMEOUT_S)
            ready_s = time.perf_counter() - started
            bench.log(f"serve: ready in {ready_s:.1f} s; waiting for the warm-up to finish")
            warm_s = _wait_idle(proc.pid, IDLE_TIMEOUT_S)
            idle_mb = peak_rss_mb(proc.pid)
            bench.log(f"serve: idle after {warm_s:.1f} s more, peak RSS {idle_mb:.0f} MB")
            before = time.perf_counter()
            answers, errors = _ask_all(url, questions)
            load_s = time.perf_counter() - before
            busy_mb = peak_rss_mb(proc.pid)
            bench.log(f"serve: {CONCURRENT} questions in {load_s:.1f} s, peak RSS {busy_mb:.0f} MB")
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    if errors:
        raise RuntimeError(f"{len(errors)} of {CONCURRENT} questions failed: {errors[0]}")
    return {
        "memory": {
            "serve_idle_peak_rss_mb": rounded(idle_mb, 0),
            "serve_4_questions_peak_rss_mb": rounded(busy_mb, 0),
        },
        "serve": {
            "ready_s": rounded(ready_s, 2),
            "warm_up_s": rounded(warm_s, 1),
            "questions": CONCURRENT,
            "questions_wall_s": rounded(load_s, 1),
            "last_answer": answers[-1][:400] if answers else None,
        },
        "rows": [
            row(
                "serve_ready_s",
                rounded(ready_s, 2),
                "",
                None,
                f"`assistant serve` to HTTP 200; models warm {warm_s:.0f} s later (background)",
            ),
            row(
                "serve_idle_peak_rss_mb",
                rounded(idle_mb, 0),
                "",
                None,
                "after warm-up: MiniLM + the 0.5B GGUF model + Chroma + Gradio",
            ),
            row(
                "serve_4q_vs_idle_rss",
                rounded(busy_mb / idle_mb, 3),
                "",
                None,
                f"peak {busy_mb:.0f} MB with {CONCURRENT} concurrent questions "
                f"(answered in {load_s:.0f} s, one model call at a time)",
            ),
        ],
    }
