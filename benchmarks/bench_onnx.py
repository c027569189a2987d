"""Figure 2: an ONNX Runtime embedding backend (fp32 and int8), its speed-up and its recall.

sentence-transformers' own `backend="onnx"` (what `ASSISTANT_EMBEDDING_BACKEND=onnx` selects)
needs optimum-onnx, whose releases pin transformers below the version installed here, so it
cannot be installed beside it; the figure records whether that backend loads. To still measure
what ONNX would give, the benchmark exports the packaged MiniLM weights to ONNX at run time with
`torch.onnx` (needs the `onnx` package), quantises a copy to int8 with onnxruntime's dynamic
quantisation, and runs both with onnxruntime behind the `Embedder` interface (same tokenizer,
mean pooling and normalisation as sentence-transformers).

Speed-up: encode time of the same chunk texts, torch vs ONNX, in interleaved rounds. Recall:
recall@5 of the gold article over the RealTime QA dev questions of the ingest corpus, with
`Assistant.retrieve` (hybrid) and dense only, each backend with its own store of the same
articles. A backend is worth keeping only with hybrid recall within 1 point of torch.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from assistant.config import Settings
from assistant.embeddings import Embedder, resolve_model_path
from benchmarks import Bench, rounded, row, stopwatch
from benchmarks.bench_ingest import chunk_texts, prepare_corpus

RECALL_TOLERANCE = 0.01  # one point


def export_onnx(model_dir: Path, out: Path) -> Path:
    """Export the transformer of a sentence-transformers folder to an ONNX file.

    Args:
        model_dir: Local sentence-transformers model folder (BERT-like, e.g. MiniLM).
        out: The .onnx file to write.

    Returns:
        `out`, whose graph maps input_ids, attention_mask and token_type_ids to the last
        hidden state (pooling is done outside).
    """
    import torch
    from transformers import AutoModel, AutoTokenizer

    model = AutoModel.from_pretrained(str(model_dir)).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))

    class _Hidden(torch.nn.Module):
        """Positional inputs and one output, as the TorchScript exporter wants."""

        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, ids: Any, mask: Any, types: Any) -> Any:
            return self.inner(input_ids=ids, attention_mask=mask, token_type_ids=types)[0]

    names = ["input_ids", "attention_mask", "token_type_ids"]
    sample = tokenizer(["an example", "another, longer example"], padding=True, return_tensors="pt")
    axes = {n: {0: "batch", 1: "tokens"} for n in [*names, "last_hidden_state"]}
    out.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _Hidden(model),
            tuple(sample[n] for n in names),
            str(out),
            input_names=names,
            output_names=["last_hidden_state"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )
    return out


def quantize_int8(source: Path, out: Path) -> Path:
    """Dynamic int8 quantisation of an ONNX model's weights (onnxruntime.quantization)."""
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    # It logs advice through the root logger (configuring it on the way); keep that quiet
    # and leave the root logger as it was.
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    root.setLevel(logging.ERROR)
    try:
        quantize_dynamic(str(source), str(out), weight_type=QuantType.QInt8)
    finally:
        root.handlers = handlers
        root.setLevel(level)
    return out


class OnnxEmbedder(Embedder):
    """The `Embedder` interface over an onnxruntime session of an exported MiniLM."""

    def __init__(self, settings: Settings, onnx_file: Path, label: str) -> None:
        super().__init__(settings)
        import onnxruntime
        from transformers import AutoTokenizer

        folder = resolve_model_path(settings.embedding_model)
        config = json.loads((folder / "sentence_bert_config.json").read_text())
        self.max_tokens = int(config.get("max_seq_length", 256))
        self.label = label
        self._tokenizer = AutoTokenizer.from_pretrained(str(folder))
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        self._session = onnxruntime.InferenceSession(
            str(onnx_file), options, providers=["CPUExecutionProvider"]
        )

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit-length embeddings, batched longest first like sentence-transformers."""
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        self.calls += 1
        self.texts_embedded += len(texts)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.zeros((len(texts), 384), dtype=np.float32)
        for start in range(0, len(texts), self.batch_size):
            batch = order[start : start + self.batch_size]
            enc = self._tokenizer(
                [texts[i] for i in batch],
                padding=True,
                truncation=True,
                max_length=self.max_tokens,
                return_tensors="np",
            )
            feed = {
                name: np.asarray(enc[name], dtype=np.int64)
                for name in ("input_ids", "attention_mask", "token_type_ids")
            }
            hidden = self._session.run(None, feed)[0]
            mask = feed["attention_mask"][..., None].astype(np.float32)
            pooled = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
            out[batch] = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
        return out


def st_onnx_backend_status() -> str:
    """Whether `ASSISTANT_EMBEDDING_BACKEND=onnx` (sentence-transformers' backend) loads."""
    try:
        Embedder(Settings(embedding_backend="onnx")).embed(["a test"])
    except Exception as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return f"unavailable: {first.split('. ')[0][:160]}"
    return "works"


def recall_at_5(assistant: Any, cases: list[dict[str, Any]]) -> float | None:
    """Share of answerable cases whose gold article is among the top-5 retrieved passages."""
    from assistant.evals import retrieval_scores

    scores: list[float] = []
    for case in cases:
        if not case.get("answerable", True) or not case.get("article_ids"):
            continue
        hits = assistant.retrieve(case["question"], k=5)
        recall, _ = retrieval_scores([h.chunk.article_id for h in hits], case["article_ids"])
        if recall is not None:
            scores.append(recall)
    return sum(scores) / len(scores) if scores else None


def run(bench: Bench) -> dict[str, Any]:
    """Export, quantise, time and score the ONNX backends; see the module docstring."""
    from assistant.chain import Assistant

    status = st_onnx_backend_status()
    bench.log(f"onnx: sentence-transformers backend='onnx': {status}")
    base = Settings()
    folder = bench.work / "onnx-models"
    try:
        fp32 = export_onnx(resolve_model_path(base.embedding_model), folder / "model.onnx")
    except Exception as exc:  # no `onnx` package, or an exporter change
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return {
            "onnx": {"st_backend": status, "export": f"failed: {first}"},
            "rows": [row("onnx_speedup", None, "> 1, recall within 1 pt", None, first)],
        }
    int8 = quantize_int8(fp32, folder / "model-int8.onnx")
    embedders: dict[str, Embedder] = {
        "torch": bench.embedder,
        "onnx-fp32": OnnxEmbedder(base, fp32, "onnx-fp32"),
        "onnx-int8": OnnxEmbedder(base, int8, "onnx-int8"),
    }

    corpus = prepare_corpus(bench)
    texts = chunk_texts(corpus.paths, base.chunk_size, base.chunk_overlap)
    sample = texts[:: max(1, len(texts) // (192 if bench.quick else 512))]
    seconds = dict.fromkeys(embedders, float("inf"))
    vectors: dict[str, np.ndarray] = {}
    for _ in range(2):
        for name, embedder in embedders.items():
            with stopwatch() as elapsed:
                vectors[name] = embedder.embed(sample)
            seconds[name] = min(seconds[name], elapsed())
    speedup = {n: seconds["torch"] / seconds[n] for n in embedders if n != "torch"}
    cosine = {
        n: float((vectors[n] * vectors["torch"]).sum(axis=1).min())
        for n in embedders
        if n != "torch"
    }
    bench.log(f"onnx: speed-up on {len(sample)} chunks {speedup}, min cosine to torch {cosine}")

    recall: dict[str, dict[str, float | None]] = {}
    ingest_rate: dict[str, float | None] = {"torch": bench.shared.get("torch_ingest_chunks_per_s")}
    if corpus.cases:
        for name, embedder in embedders.items():
            if name == "torch" and "torch_store" in bench.shared:
                settings = bench.shared["torch_store"]
            else:
                settings = bench.settings(f"store-{name}")
                with stopwatch() as elapsed:
                    report = Assistant(settings, embedder=embedder).ingest(corpus.paths)
                ingest_rate[name] = report.chunks / elapsed()
            hybrid = Assistant(settings, embedder=embedder)
            dense = Assistant(settings.model_copy(update={"hybrid": False}), embedder=embedder)
            recall[name] = {
                "hybrid": recall_at_5(hybrid, corpus.cases),
                "dense": recall_at_5(dense, corpus.cases),
            }
            bench.log(f"onnx: recall@5 {name}: {recall[name]}")

    rows = []
    keep: dict[str, bool | None] = {}
    for name in ("onnx-fp32", "onnx-int8"):
        got, ref = recall.get(name, {}).get("hybrid"), recall.get("torch", {}).get("hybrid")
        within = None if got is None or ref is None else got >= ref - RECALL_TOLERANCE
        keep[name] = None if within is None else within and speedup[name] > 1.0
        context = (
            f"{len(sample)} chunks: torch {seconds['torch']:.2f} s, {name} {seconds[name]:.2f} s"
        )
        if got is not None and ref is not None:
            context += f"; recall@5 {got:.3f} vs torch {ref:.3f} ({len(corpus.cases)} questions)"
        rows.append(
            row(
                f"{name}_speedup",
                rounded(speedup[name], 2),
                "> 1, recall -1 pt",
                keep[name],
                context,
            )
        )
    rows.append(row("st_backend_onnx", status.split(":")[0], "", None, status))
    return {
        "onnx_speedup": {n: rounded(s, 2) for n, s in speedup.items()},
        "onnx": {
            "st_backend": status,
            "sample_chunks": len(sample),
            "encode_s": {n: rounded(s, 3) for n, s in seconds.items()},
            "min_cosine_to_torch": {n: rounded(c, 4) for n, c in cosine.items()},
            "recall_at_5": recall,
            "questions": sum(1 for c in corpus.cases if c.get("answerable", True)),
            "ingest_chunks_per_s": {n: rounded(r, 1) for n, r in ingest_rate.items()},
            "keep": keep,
        },
        "rows": rows,
    }
