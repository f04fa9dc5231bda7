"""SCORM import of a ~100 MB package: wall time and peak memory, against plain extraction.

Usage (from the project root):

    .venv/bin/python -m bench.scorm_import [--media-mib 90] [--media-files 4]
        [--small-files 2000] [--runs 3]

In one run:

- a SCORM 1.2 package is built in a temporary folder (timed apart): a manifest naming every
  file, one SCO page, ``--media-files`` incompressible media files (random bytes, as video
  is) sharing ``--media-mib`` MiB, and ``--small-files`` small HTML/JS/CSS-like files of
  about 5 KB each, all deflated as authoring tools export them;
- a fresh tool database (SQLite, migrated, the framework loaded);
- per run, a fresh Python process that imports the package as a new module through the
  service the CLI (``flask --app plugin content import``) and the designer's upload call
  (:func:`plugin.content.services.import_as_new_module`, committed), and beside it a fresh
  process that extracts the same zip with ``zipfile.ZipFile.extractall`` (the baseline);
- once more each with ``tracemalloc`` on, for the peak of Python allocations.

Prints per side the best and median wall time of the operation alone (process start-up and
the app's imports are not in it), the process's peak RSS before and after the operation
(VmHWM: what the operation added to the process) and the tracemalloc peak; then the
ratio of the tool's time to the baseline's.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

PROJECT_DIR = Path(__file__).resolve().parents[1]
MIB = 1024 * 1024
SMALL_FILE_BYTES = 5000
SCO_PAGE = """<!doctype html><html><head><title>SCO</title><script src="js/api.js"></script>
</head><body><video src="media/clip-0.mp4"></video></body></html>"""
MANIFEST = """<?xml version="1.0" encoding="UTF-8"?>
<manifest identifier="bench-pkg" version="1.0"
  xmlns="http://www.imsproject.org/xsd/imscp_rootv1p1p2"
  xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_rootv1p2">
  <metadata><schema>ADL SCORM</schema><schemaversion>1.2</schemaversion></metadata>
  <organizations default="org">
    <organization identifier="org">
      <title>效能測試 Bench course</title>
      <item identifier="item-1" identifierref="res-1"><title>第一課 Lesson one</title>
        <adlcp:masteryscore>80</adlcp:masteryscore>
      </item>
    </organization>
  </organizations>
  <resources>
    <resource identifier="res-1" type="webcontent" adlcp:scormtype="sco" href="index.html">
{files}
    </resource>
  </resources>
</manifest>
"""
WORDS = ["function", "var", "return", "course", "learner", "lesson", "page", "slide", "quiz"]


def manifest_text(names: list[str]) -> str:
    """A SCORM 1.2 manifest with one SCO whose resource names every file."""
    return MANIFEST.format(files="\n".join(f'      <file href="{name}"/>' for name in names))


def small_file(rng: random.Random) -> bytes:
    """About 5 KB of text that compresses as HTML or script does (roughly 3:1)."""
    words: list[str] = []
    size = 0
    while size < SMALL_FILE_BYTES:
        word = rng.choice(WORDS) + str(rng.randrange(1000))
        words.append(word)
        size += len(word) + 1
    return " ".join(words).encode()


def build_package(
    path: Path, *, media_mib: int, media_files: int, small_files: int, seed: int = 20261203
) -> int:
    """Write a package of one SCO to ``path``; its unpacked size in bytes.

    Media are random bytes written in 1 MiB chunks (so building it never holds a whole
    file), deflated like the rest, as export tools do."""
    rng = random.Random(seed)
    names = ["index.html"]
    names += [f"media/clip-{i}.mp4" for i in range(media_files)]
    names += [
        f"assets/{i // 100:02d}/part-{i}.{('html', 'js', 'css')[i % 3]}" for i in range(small_files)
    ]
    total = 0
    per_media = media_mib * MIB // max(media_files, 1)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        archive.writestr("imsmanifest.xml", manifest_text(names))
        archive.writestr("index.html", SCO_PAGE)
        for name in names[1:]:
            if name.startswith("media/"):
                with archive.open(name, "w", force_zip64=True) as sink:
                    for _ in range(per_media // MIB):
                        sink.write(rng.randbytes(MIB))
                total += per_media // MIB * MIB
            else:
                data = small_file(rng)
                archive.writestr(name, data)
                total += len(data)
    return total


def max_rss_mib() -> float:
    """This process's peak RSS so far (VmHWM: unlike ``ru_maxrss`` it starts afresh at exec,
    not at the parent's peak)."""
    from bench.launch_load import peak_rss_mib

    return peak_rss_mib(os.getpid())


def import_as_module(app: Flask, package: Path) -> str:
    """Import ``package`` as a new module of the default organisation, as
    ``flask content import`` does, and commit; the module's key."""
    from plugin.competencies.framework import get_framework
    from plugin.content.services import import_as_new_module, limits_for, storage_for
    from plugin.organisations.services import default_organisation

    settings = app.extensions["plugin.settings"]
    with app.app_context(), app.extensions["plugin.db"].session_scope() as session:
        framework = get_framework(session)
        assert framework is not None, "prepare_tool_database loads the framework"
        version = import_as_new_module(
            session,
            storage_for(settings.content),
            limits_for(settings.content),
            package,
            package.name,
            framework=framework,
            iri_base=settings.framework.iri_base,
            organisation_id=default_organisation(session).id,
        )
        return str(version.module.key)


def import_with_tool(config_file: Path, package: Path) -> None:
    """Time :func:`import_as_module` in this process."""
    from plugin import create_app
    from plugin.competencies.framework import get_framework
    from plugin.organisations.services import default_organisation

    app = create_app(str(config_file))
    database = app.extensions["plugin.db"]
    # The ORM configures its mappers and the engine connects on first use: done before the
    # measurement, so it holds the import's own time and memory.
    with app.app_context(), database.session_scope() as session:
        get_framework(session)
        default_organisation(session)
    measure(lambda: import_as_module(app, package))
    database.dispose()


def extract_with_zipfile(target: Path, package: Path) -> None:
    """The baseline: the standard library's extraction of the same zip."""

    def operation() -> None:
        with zipfile.ZipFile(package) as archive:
            archive.extractall(target)

    measure(operation)


def measure(operation: Any) -> None:
    """Run ``operation`` once; print its wall time and memory as one JSON line."""
    traced = os.environ.get("BENCH_TRACEMALLOC") == "1"
    before = max_rss_mib()
    if traced:
        tracemalloc.start()
    started = time.perf_counter()
    operation()
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] / MIB if traced else 0.0
    print(
        json.dumps(
            {
                "seconds": seconds,
                "rss_before": before,
                "rss_after": max_rss_mib(),
                "traced_peak": peak,
            }
        )
    )


def run_child(side: str, folder: Path, package: Path, *, traced: bool) -> dict[str, float]:
    """One fresh process doing ``side``'s operation; what it measured."""
    env = dict(os.environ, BENCH_TRACEMALLOC="1" if traced else "0")
    target = folder / f"{side}-{time.monotonic_ns()}"
    argument = folder / "tool" / "config.toml" if side == "tool" else target
    result = subprocess.run(
        [sys.executable, "-m", "bench.scorm_import", "--child", side, str(argument), str(package)],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"{side} failed:\n{result.stderr[-3000:]}")
    shutil.rmtree(target, ignore_errors=True)
    shutil.rmtree(folder / "tool" / "content", ignore_errors=True)  # the imported versions
    numbers: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    return numbers


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.scorm_import",
        description="Import a ~100 MB SCORM package through the tool's service: wall time and "
        "peak memory, against zipfile extraction of the same archive.",
    )
    parser.add_argument("--media-mib", type=int, default=90, help="MiB of media (default 90)")
    parser.add_argument("--media-files", type=int, default=4, help="media files (default 4)")
    parser.add_argument(
        "--small-files", type=int, default=2000, help="small files of ~5 KB (default 2000)"
    )
    parser.add_argument("--runs", type=int, default=3, help="timed runs per side (default 3)")
    parser.add_argument(
        "--child", nargs=3, metavar=("SIDE", "ARG", "PACKAGE"), help=argparse.SUPPRESS
    )
    return parser.parse_args(argv)


def report(side: str, runs: list[dict[str, float]], traced: dict[str, float]) -> float:
    """Print one side's line; its median time."""
    times = [run["seconds"] for run in runs]
    median = statistics.median(times)
    before = max(run["rss_before"] for run in runs)
    after = max(run["rss_after"] for run in runs)
    print(
        f"{side:<9} best {min(times):6.2f} s  median {median:6.2f} s   peak RSS {before:6.1f} → "
        f"{after:6.1f} MiB (+{after - before:.1f})   "
        f"tracemalloc peak {traced['traced_peak']:.1f} MiB"
    )
    return median


def main(argv: list[str] | None = None) -> int:
    """Build the package, prepare the tool, time both sides in fresh processes, print."""
    args = parse_args(argv)
    if args.child:
        side, argument, package = args.child
        if side == "tool":
            import_with_tool(Path(argument), Path(package))
        else:
            extract_with_zipfile(Path(argument), Path(package))
        return 0
    from bench.launch_load import prepare_tool_database

    with tempfile.TemporaryDirectory(prefix="dc-bench-scorm-import-") as name:
        folder = Path(name)
        package = folder / "course.zip"
        started = time.perf_counter()
        unpacked = build_package(
            package,
            media_mib=args.media_mib,
            media_files=args.media_files,
            small_files=args.small_files,
        )
        print(
            f"package: {package.stat().st_size / MIB:.1f} MiB zip, {unpacked / MIB:.1f} MiB "
            f"unpacked, {args.media_files + args.small_files + 2} entries "
            f"(built in {time.perf_counter() - started:.1f} s)"
        )
        prepare_tool_database(folder / "tool", 0)
        results: dict[str, list[dict[str, float]]] = {"tool": [], "baseline": []}
        for _ in range(args.runs):
            for side in results:  # alternated, so a busy moment hits both
                results[side].append(run_child(side, folder, package, traced=False))
        traced = {side: run_child(side, folder, package, traced=True) for side in results}
        tool = report("tool", results["tool"], traced["tool"])
        baseline = report("baseline", results["baseline"], traced["baseline"])
        print(f"tool / baseline time (medians): {tool / baseline:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
