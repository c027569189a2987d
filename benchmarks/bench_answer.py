"""Figure 4: answer latency and accuracy against the naive LangChain tutorial pipeline.

Ours: `Assistant.stream` over seeds/ (condense, hybrid retrieval, prompt, generate, verify
citations). Naive: what the LangChain RAG tutorial builds, assembled here: `load -> split with
RecursiveCharacterTextSplitter(800, 100) -> Chroma.from_documents -> top-4 -> stuff every
passage into the tutorial's prompt -> LLM`. Both use the same MiniLM embedder object and the
same loaded llama.cpp model object, with the same generation settings.

The questions are the answerable ones of the seeds suite (evals/seeds.jsonl). Each pipeline
answers its questions back to back (so llama.cpp's prompt-prefix cache behaves as in use), in
the order ours, naive on the first half and naive, ours on the second, so that a change in the
machine's load hits both alike. Accuracy is "contains a gold answer" (normalised), as in the
eval suites.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks import SEEDS, SEEDS_SUITE, Bench, percentile, read_jsonl, rounded, row, stopwatch

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings
    from langchain_core.runnables import Runnable

    from assistant.embeddings import Embedder

QUICK_QUESTIONS = 6
TARGET_RATIO = 0.8
# The prompt of the LangChain RAG tutorial (hub: rlm/rag-prompt), as one human message.
NAIVE_PROMPT = (
    "You are an assistant for question-answering tasks. Use the following pieces of retrieved "
    "context to answer the question. If you don't know the answer, just say that you don't "
    "know. Use three sentences maximum and keep the answer concise.\n"
    "Question: {question} \nContext: {context} \nAnswer:"
)


def embeddings_adapter(embedder: Embedder) -> Embeddings:
    """LangChain `Embeddings` over our `Embedder`, so both pipelines embed alike."""
    from langchain_core.embeddings import Embeddings

    class _Adapter(Embeddings):
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return [[float(x) for x in v] for v in embedder.embed(texts)]

        def embed_query(self, text: str) -> list[float]:
            return [float(x) for x in embedder.embed_query(text)]

    return _Adapter()


def naive_pipeline(
    paths: list[Path], embedder: Embedder, chat_model: Any, folder: Path
) -> Runnable[str, str]:
    """The LangChain tutorial's RAG chain over `paths`: a question in, the answer text out."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings
    from langchain_chroma import Chroma
    from langchain_core.documents import Document
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import ChatPromptTemplate
    from langchain_core.runnables import RunnablePassthrough
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from assistant.loaders import load_paths
    from assistant.types import Article

    docs = [
        Document(page_content=a.text, metadata={"source": a.source or "", "title": a.title})
        for a in load_paths(paths)
        if isinstance(a, Article)
    ]
    splits = RecursiveCharacterTextSplitter(chunk_size=800, chunk_overlap=100).split_documents(docs)
    folder.mkdir(parents=True, exist_ok=True)
    client = chromadb.PersistentClient(
        path=str(folder), settings=ChromaSettings(anonymized_telemetry=False)
    )
    store = Chroma.from_documents(
        splits, embedding=embeddings_adapter(embedder), client=client, collection_name="naive"
    )
    retriever = store.as_retriever(search_kwargs={"k": 4})

    def format_docs(found: list[Document]) -> str:
        return "\n\n".join(d.page_content for d in found)

    prompt = ChatPromptTemplate.from_messages([("human", NAIVE_PROMPT)])
    return (
        {"context": retriever | format_docs, "question": RunnablePassthrough()}
        | prompt
        | chat_model
        | StrOutputParser()
    )


def _time_ours(assistant: Any, question: str) -> dict[str, Any]:
    """Seconds to the first text piece and to the verified Answer, the text, the stage times."""
    from assistant.types import Answer

    first: float | None = None
    pieces = 0
    answer: Answer | None = None
    with stopwatch() as elapsed:
        for piece in assistant.stream(question):
            if isinstance(piece, Answer):
                answer = piece
            else:
                pieces += 1
                if first is None:
                    first = elapsed()
        total = elapsed()
    assert answer is not None
    return {
        "first": first if first is not None else total,
        "total": total,
        "text": answer.text,
        "pieces": pieces,
        "stages_ms": answer.timings,
    }


def _time_naive(chain: Runnable[str, str], question: str) -> dict[str, Any]:
    """Seconds to the first text piece and to the last, and the text."""
    first: float | None = None
    pieces: list[str] = []
    with stopwatch() as elapsed:
        for piece in chain.stream(question):
            if piece and first is None:
                first = elapsed()
            pieces.append(piece)
        total = elapsed()
    return {
        "first": first if first is not None else total,
        "total": total,
        "text": "".join(pieces),
        "pieces": sum(1 for p in pieces if p),
    }


def run(bench: Bench) -> dict[str, Any]:
    """Answer the seeds questions with both pipelines; see the module docstring."""
    from assistant.chain import Assistant
    from assistant.evals import best_alias_score, contains_gold

    cases = [c for c in read_jsonl(SEEDS_SUITE) if c.get("answerable", True)]
    if bench.quick:
        cases = cases[:QUICK_QUESTIONS]
    ours = Assistant(bench.settings("answer"), embedder=bench.embedder, chat_model=bench.chat_model)
    report = ours.ingest([SEEDS])
    if report.errors:
        raise RuntimeError(f"ingest of seeds/: {report.errors[0]}")
    naive = naive_pipeline([SEEDS], bench.embedder, bench.chat_model, bench.work / "naive")
    bench.log(f"answer: {len(cases)} seeds questions; warming up both pipelines")
    _time_ours(ours, cases[0]["question"])  # loads the model, builds BM25
    _time_naive(naive, cases[0]["question"])

    timed: dict[str, dict[str, dict[str, Any]]] = {"ours": {}, "naive": {}}
    half = len(cases) // 2
    blocks = [("ours", cases[:half]), ("naive", cases[:half])]
    blocks += [("naive", cases[half:]), ("ours", cases[half:])]
    for name, block in blocks:
        for case in block:
            if name == "ours":
                got = _time_ours(ours, case["question"])
            else:
                got = _time_naive(naive, case["question"])
            timed[name][case["id"]] = got
            bench.log(
                f"answer: {name} {case['id']}: first token {got['first']:.2f} s, "
                f"total {got['total']:.2f} s, {got['pieces']} pieces"
            )

    stats: dict[str, dict[str, Any]] = {}
    for name, results in timed.items():
        correct = [
            best_alias_score(results[c["id"]]["text"], c["answers"], contains_gold) for c in cases
        ]
        stats[name] = {
            "first_token_p50_s": percentile([r["first"] for r in results.values()], 50),
            "total_p50_s": percentile([r["total"] for r in results.values()], 50),
            "pieces_p50": percentile([r["pieces"] for r in results.values()], 50),
            "contains_gold": sum(correct) / len(correct),
            "answers": {c["id"]: results[c["id"]]["text"][:300] for c in cases},
        }
    stages = sorted({k for r in timed["ours"].values() for k in r["stages_ms"]})
    stats["ours"]["stages_p50_ms"] = {
        k: rounded(percentile([r["stages_ms"].get(k, 0.0) for r in timed["ours"].values()], 50), 0)
        for k in stages
    }
    ratio = stats["ours"]["total_p50_s"] / stats["naive"]["total_p50_s"]
    ttft_ratio = stats["ours"]["first_token_p50_s"] / stats["naive"]["first_token_p50_s"]
    accuracy = stats["ours"]["contains_gold"] - stats["naive"]["contains_gold"]
    for s in stats.values():
        for key in ("first_token_p50_s", "total_p50_s", "contains_gold"):
            s[key] = rounded(s[key], 3)
    return {
        "answer_vs_naive": rounded(ratio),
        "accuracy_vs_naive": rounded(accuracy),
        "answer": {
            "questions": len(cases),
            "model": ours.model_name,
            "first_token_vs_naive": rounded(ttft_ratio),
            **stats,
        },
        "rows": [
            row(
                "answer_vs_naive",
                rounded(ratio),
                f"<= {TARGET_RATIO}",
                ratio <= TARGET_RATIO,
                f"p50 total {stats['ours']['total_p50_s']:.2f} s vs naive "
                f"{stats['naive']['total_p50_s']:.2f} s over {len(cases)} seeds questions",
            ),
            row(
                "first_token_vs_naive",
                rounded(ttft_ratio),
                "",
                None,
                f"p50 {stats['ours']['first_token_p50_s']:.2f} s vs naive "
                f"{stats['naive']['first_token_p50_s']:.2f} s",
            ),
            row(
                "accuracy_vs_naive",
                rounded(accuracy),
                ">= 0",
                accuracy >= 0,
                f"contains gold {stats['ours']['contains_gold']:.2f} vs naive "
                f"{stats['naive']['contains_gold']:.2f}",
            ),
        ],
    }
