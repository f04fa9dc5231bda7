"""Launch throughput: full OIDC login + launch round trips against the tool and a baseline.

Usage (from the project root):

    .venv/bin/python -m bench.launch [--users N] [--seconds S] [--warmup W] [--workers 2]
        [--learners L] [--database-url postgresql://postgres@127.0.0.1:5432/dc_bench_launch]

    # PostgreSQL: make the database once (the run uses a fresh schema in it and drops that)
    psql -h 127.0.0.1 -U postgres -c 'CREATE DATABASE dc_bench_launch'

In one run:

- a simulated platform, its JWKS served by a local HTTP server process of its own;
- the tool under ``gunicorn -w 2 'plugin:create_app()'`` on a fresh database (a SQLite file by
  default; with ``--database-url`` a fresh schema in that PostgreSQL database, dropped at the
  end), migrated, the framework and its demo modules loaded, the platform registered;
- beside it a minimal pylti1p3 Flask tool written as pylti1p3's README shows
  (``bench/baseline_pylti1p3_tool.py``: no public-key cache, so it fetches the JWKS on every
  launch), also under gunicorn with the same number of workers.

The same closed-loop generator (N virtual users, each a requests.Session with its own cookies,
each launching again as soon as it is answered) drives first the tool, then the baseline, each
after a warm-up. A round trip is the login request (302 to the platform), the platform signing
an id_token for the nonce it was given, and the launch POST, until the launch response has
arrived (the tool: 303 to the module page, its ``launched`` statement queued in the same
transaction; the baseline: a 200 page).

Prints per app launches/s, p50 and p99 latency, errors, JWKS fetches, the load generator's
own CPU use (it shares the machine with the servers), each gunicorn worker's peak RSS (VmHWM)
after its load, and the ratio of tool to baseline throughput. Exits 1 if any launch failed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.launch_load import (
    GunicornServer,
    LoadReport,
    PlatformSimulator,
    ServedApp,
    SubjectSource,
    VirtualUser,
    free_port,
    prepare_baseline,
    prepare_tool,
    run_closed_loop,
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.launch",
        description="OIDC login + launch round trips per second, p50/p99 latency and worker "
        "peak RSS: the tool under gunicorn against a README-style pylti1p3 baseline.",
    )
    parser.add_argument("--users", type=int, default=8, help="concurrent virtual users (default 8)")
    parser.add_argument(
        "--seconds", type=float, default=20.0, help="measured seconds per app (default 20)"
    )
    parser.add_argument(
        "--warmup", type=float, default=3.0, help="unmeasured seconds first (default 3)"
    )
    parser.add_argument(
        "--workers", type=int, default=2, help="gunicorn workers per app (default 2)"
    )
    parser.add_argument(
        "--learners",
        type=int,
        default=1000,
        help="distinct learners (LTI sub) the launches cycle through (default 1000)",
    )
    parser.add_argument(
        "--database-url",
        default="",
        help="a PostgreSQL database for the tool (a fresh schema in it is used and dropped); "
        "default: a fresh SQLite file",
    )
    return parser.parse_args(argv)


@contextmanager
def fresh_schema(database_url: str) -> Iterator[str]:
    """A URL whose connections use a new, empty schema of ``database_url`` (dropped after)."""
    from plugin.core.db import normalise_url

    url = normalise_url(database_url)
    if make_url(url).get_backend_name() != "postgresql":
        raise SystemExit("--database-url must be a postgresql:// URL (the default is SQLite)")
    schema = f"bench_launch_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    scoped = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield scoped.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def database_for_tool(database_url: str) -> Iterator[str]:
    """The tool's database URL: "" (its default SQLite file) or a fresh PostgreSQL schema."""
    if not database_url:
        yield ""
        return
    with fresh_schema(database_url) as url:
        yield url


@dataclass(frozen=True)
class AppResult:
    """One app's closed-loop run and what was read around it."""

    report: LoadReport
    jwks_fetches: int  # during warm-up and load
    worker_peaks_mib: dict[int, float]  # VmHWM per gunicorn worker after the load
    generator_cpu: float  # CPU seconds the load generator used per second


def measure(
    server: GunicornServer, platform: PlatformSimulator, args: argparse.Namespace
) -> AppResult:
    """Drive one app with the closed loop; read the JWKS fetches and the workers' peaks."""
    app: ServedApp = server.app

    def make_user() -> VirtualUser:
        return VirtualUser(platform, app, server.base_url, actions=False)

    fetches_before = platform.jwks_requests()
    cpu_before, wall_before = time.process_time(), time.monotonic()
    report = run_closed_loop(
        app.name,
        make_user,
        SubjectSource(f"{app.name}-learner", pool=args.learners),
        users=args.users,
        seconds=args.seconds,
        warmup_seconds=args.warmup,
    )
    generator_cpu = (time.process_time() - cpu_before) / (time.monotonic() - wall_before)
    return AppResult(
        report=report,
        jwks_fetches=platform.jwks_requests() - fetches_before,
        worker_peaks_mib=server.peak_rss_mib(),
        generator_cpu=generator_cpu,
    )


def print_result(result: AppResult) -> None:
    """The app's numbers."""
    report = result.report
    print(report.summary())
    indent = " " * 10
    launches = len(report.every_iteration)
    print(
        f"{indent}JWKS fetches: {result.jwks_fetches} for {launches} launches (warm-up "
        f"included); load generator CPU {result.generator_cpu:.2f} s/s"
    )
    peaks = ", ".join(
        f"pid {pid}: {mib:.1f} MiB" for pid, mib in sorted(result.worker_peaks_mib.items())
    )
    print(f"{indent}worker peak RSS (VmHWM): {peaks}")
    for error, count in report.errors.most_common(5):
        print(f"{indent}{count} x {error}")


def main(argv: list[str] | None = None) -> int:
    """Set everything up, measure the tool then the baseline, print, stop everything."""
    args = parse_args(argv)
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="dc-bench-launch-")))
        platform = PlatformSimulator(folder / "platform")
        platform.start()
        stack.callback(platform.stop)
        database_url = stack.enter_context(database_for_tool(args.database_url))
        tool_port, baseline_port = free_port(), free_port()
        tool = prepare_tool(folder / "tool", tool_port, platform, database_url)
        baseline = prepare_baseline(folder / "baseline", platform)
        tool_server = GunicornServer(tool, tool_port, folder / "tool.log", args.workers)
        baseline_server = GunicornServer(
            baseline, baseline_port, folder / "baseline.log", args.workers
        )
        # Registered after the database: the servers stop before its schema is dropped.
        stack.callback(tool_server.stop)
        stack.callback(baseline_server.stop)
        tool_server.start()
        baseline_server.start()
        backend = "PostgreSQL" if database_url else "SQLite"
        print(
            f"{args.users} virtual users, {args.warmup:g} s warm-up + {args.seconds:g} s per "
            f"app, gunicorn -w {args.workers} (sync workers), tool database: {backend}"
        )
        tool_result = measure(tool_server, platform, args)
        print_result(tool_result)
        baseline_result = measure(baseline_server, platform, args)
        print_result(baseline_result)
        tool_rate, baseline_rate = tool_result.report.rate, baseline_result.report.rate
        if baseline_rate > 0:
            print(f"tool / baseline throughput: {tool_rate / baseline_rate:.2f}")
        failed = tool_result.report.error_count + baseline_result.report.error_count
        if tool_result.report.error_count:
            print(f"tool log tail:\n{tool_server.log_tail(10)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
