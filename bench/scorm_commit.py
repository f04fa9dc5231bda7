"""SCORM run-time commits: round trips of ``POST /scorm/commit`` against the tool and a baseline.

Usage (from the project root):

    .venv/bin/python -m bench.scorm_commit [--clients 8] [--seconds 15] [--rounds 3]
        [--warmup 2] [--workers 2]

In one run:

- a simulated platform (``bench/launch_load.py``), the tool under
  ``gunicorn -w 2 'plugin:create_app()'`` on a fresh SQLite database (migrated, framework
  loaded, platform registered) with a SCORM 1.2 module imported through the content service;
- one learner per client launches that module over HTTP (OIDC login, launch, the module page's
  303 to the player) and keeps the runtime token of their attempt;
- beside it a minimal Flask endpoint (``bench/baseline_commit_app.py``: the same JSON body,
  one SQLite upsert, no validation) under gunicorn with the same number of workers.

Each client is a ``requests.Session`` posting commits as scorm-again does (token in
``X-Runtime-Token``) in a closed loop, its sequence number increasing by one per commit. The
body is what a SCO in the middle of a course sends: status, location, exit, score, session
time, about 2 KB of suspend data and four interactions. Every answer must be 200 with
``result`` and ``stored`` true (the newer sequence number is kept). Phases: one client, then
``--clients`` at once, on the tool, then the same on the baseline, repeated for ``--rounds``
rounds (the machine is shared, so both sides meet its busy moments alike); each round of a
phase starts with an unmeasured warm-up.

Prints per phase commits/s, p50 and p99 latency, errors and the workers' CPU time per commit
(from /proc, so apart from the disk's fsync waits), each gunicorn worker's peak RSS, and the
ratio of tool to baseline throughput. Exits 1 if any commit failed.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import string
import sys
import tempfile
import threading
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from bench.launch_load import (
    REQUEST_TIMEOUT,
    GunicornServer,
    PlatformSimulator,
    ServedApp,
    VirtualUser,
    expect,
    free_port,
    percentile,
    prepare_tool,
    server_env,
)
from bench.scorm_import import build_package, import_as_module

SUSPEND_CHARS = 2000
INTERACTIONS = 4
SCO = "item-1"  # the one SCO of build_package's manifest


def commit_body(sco: str, seq: int, suspend: str) -> dict[str, Any]:
    """A SCORM 1.2 commit in the middle of a course (RTE 1.2 §3.4 element names)."""
    cmi: dict[str, Any] = {
        "cmi.core.lesson_status": "incomplete",
        "cmi.core.lesson_location": f"slide-{seq % 40}",
        "cmi.core.exit": "suspend",
        "cmi.core.score.raw": str(seq % 100),
        "cmi.core.session_time": f"0000:{seq // 60 % 60:02d}:{seq % 60:02d}.00",
        "cmi.suspend_data": suspend,
    }
    for index in range(INTERACTIONS):
        prefix = f"cmi.interactions.{index}."
        cmi[prefix + "id"] = f"question-{index}"
        cmi[prefix + "type"] = "choice"
        cmi[prefix + "student_response"] = "abcd"[(seq + index) % 4]
        cmi[prefix + "result"] = "correct" if (seq + index) % 3 else "wrong"
    return {"sco": sco, "seq": seq, "final": False, "cmi": cmi}


@dataclass
class Phase:
    """What one closed-loop phase measured."""

    name: str
    seconds: float
    latencies: list[float] = field(default_factory=list)  # measured successful commits
    errors: Counter[str] = field(default_factory=Counter)
    worker_cpu: float = 0.0  # CPU seconds the server's workers used, warm-up included
    commits: int = 0  # every commit answered, warm-up included

    @property
    def rate(self) -> float:
        """Successful commits per second over the measured window."""
        return len(self.latencies) / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        """One line: count, rate, p50, p99, errors."""
        return (
            f"{self.name:<22} {len(self.latencies):>6} commits in {self.seconds:5.1f} s = "
            f"{self.rate:7.1f}/s   p50 {percentile(self.latencies, 0.5) * 1000:6.1f} ms   "
            f"p99 {percentile(self.latencies, 0.99) * 1000:6.1f} ms   "
            f"errors {sum(self.errors.values())}   "
            f"worker CPU {self.worker_cpu / max(self.commits, 1) * 1000:.1f} ms/commit"
        )


class Client:
    """One SCO's player: its runtime token, its sequence number, its connection."""

    def __init__(self, base_url: str, token: str, sco: str, rng: random.Random) -> None:
        self.url = base_url + "/scorm/commit"
        self.token = token
        self.sco = sco
        self.seq = 0
        self.http = requests.Session()
        self.suspend = "".join(rng.choices(string.ascii_letters + string.digits, k=SUSPEND_CHARS))

    def commit(self) -> str:
        """Post the next commit; "" when stored, else what went wrong."""
        self.seq += 1
        try:
            answer = self.http.post(
                self.url,
                json=commit_body(self.sco, self.seq, self.suspend),
                headers={"X-Runtime-Token": self.token},
                timeout=REQUEST_TIMEOUT,
            )
        except requests.RequestException as exc:
            return f"{type(exc).__name__}: {exc}"
        if answer.status_code != 200:
            return f"{answer.status_code}: {answer.text[:200]}"
        data = answer.json()
        if data.get("result") is not True or data.get("stored") is not True:
            return f"not stored: {data}"
        return ""


def worker_cpu_seconds(server: GunicornServer) -> float:
    """User + system CPU seconds the server's workers have used (/proc/<pid>/stat)."""
    total = 0
    for pid in server.worker_pids():
        fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / os.sysconf("SC_CLK_TCK")


def run_phase(
    name: str, server: GunicornServer, clients: list[Client], seconds: float, warmup: float
) -> Phase:
    """Every client commits as soon as it is answered; commits started in the warm-up are not
    counted in the rate and latencies."""
    cpu_before = worker_cpu_seconds(server)
    measure_from = time.monotonic() + warmup
    stop_at = measure_from + seconds
    phase = Phase(name, seconds)
    lock = threading.Lock()
    ends: list[float] = []

    def loop(client: Client) -> None:
        while (started := time.monotonic()) < stop_at:
            error = client.commit()
            ended = time.monotonic()
            with lock:
                phase.commits += 1
                if started < measure_from:
                    continue
                ends.append(ended)
                if error:
                    phase.errors[error] += 1
                else:
                    phase.latencies.append(ended - started)

    threads = [threading.Thread(target=loop, args=(c,), daemon=True) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    phase.seconds = max(max(ends, default=stop_at), stop_at) - measure_from
    phase.worker_cpu = worker_cpu_seconds(server) - cpu_before
    return phase


def import_scorm_module(config_file: Path, package: Path) -> str:
    """Import ``package`` as a new module of the default organisation; its key."""
    from plugin import create_app

    app = create_app(str(config_file))
    try:
        return import_as_module(app, package)
    finally:
        app.extensions["plugin.db"].dispose()


def runtime_token(platform: PlatformSimulator, app: ServedApp, base_url: str, sub: str) -> str:
    """Launch the SCORM module as learner ``sub``; the runtime token the player opens with."""
    user = VirtualUser(platform, app, base_url, actions=False)
    try:
        location = user.launch(sub)
        module = user.http.get(base_url + location, allow_redirects=False, timeout=REQUEST_TIMEOUT)
        expect(module, 303, "GET /lti/module")
        parts = urlsplit(module.headers["Location"]).path.split("/")
        if parts[1:2] != ["scorm"] or parts[-1] != "play":
            raise SystemExit(f"the module page sent the learner to {module.headers['Location']}")
        return parts[2]
    finally:
        user.close()


def merge(phases: list[Phase]) -> Phase:
    """One phase out of the rounds of the same phase."""
    merged = Phase(phases[0].name, 0.0)
    for phase in phases:
        merged.seconds += phase.seconds
        merged.latencies += phase.latencies
        merged.errors += phase.errors
        merged.worker_cpu += phase.worker_cpu
        merged.commits += phase.commits
    return merged


def measure(
    servers: dict[str, GunicornServer], tokens: dict[str, list[str]], args: argparse.Namespace
) -> dict[str, list[Phase]]:
    """Per server one client, then ``--clients`` at once, in ``--rounds`` rounds that take
    turns between the servers, so that the shared machine's busy moments hit both."""
    rng = random.Random(20261203)
    groups = {
        (name, size): [Client(server.base_url, token, SCO, rng) for token in chosen]
        for name, server in servers.items()
        for size, chosen in ((1, tokens[name][:1]), (args.clients, tokens[name][1:]))
    }
    rounds: dict[tuple[str, int], list[Phase]] = {key: [] for key in groups}
    seconds = args.seconds / args.rounds
    for _ in range(args.rounds):
        for (name, size), clients in groups.items():
            phase = run_phase(f"{name} x{size}", servers[name], clients, seconds, args.warmup)
            rounds[(name, size)].append(phase)
    for clients in groups.values():
        for client in clients:
            client.http.close()
    return {
        name: [merge(rounds[(name, 1)]), merge(rounds[(name, args.clients)])] for name in servers
    }


def print_phases(server: GunicornServer, phases: list[Phase]) -> None:
    """The phases' lines, the first errors and the workers' peaks."""
    for phase in phases:
        print(phase.summary())
        for error, count in phase.errors.most_common(3):
            print(f"{'':10}{count} x {error}")
    peaks = ", ".join(f"{mib:.1f} MiB" for _, mib in sorted(server.peak_rss_mib().items()))
    print(f"{'':10}worker peak RSS (VmHWM): {peaks}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.scorm_commit",
        description="SCORM commits per second and p50/p99 latency, one client and N at once: "
        "the tool under gunicorn against a minimal Flask + SQLite endpoint.",
    )
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument(
        "--seconds",
        type=float,
        default=15.0,
        help="measured seconds per phase, all rounds together (default 15)",
    )
    parser.add_argument(
        "--warmup",
        type=float,
        default=2.0,
        help="unmeasured seconds before each round of a phase (default 2)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="rounds the measured seconds are split into, taking turns (default 3)",
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    return parser.parse_args(argv)


def start(stack: ExitStack, server: GunicornServer) -> GunicornServer:
    """Start ``server``; stopped when ``stack`` closes."""
    stack.callback(server.stop)
    server.start()
    return server


def main(argv: list[str] | None = None) -> int:
    """Set up the tool and the baseline, measure both, print, stop everything."""
    args = parse_args(argv)
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="dc-bench-scorm-")))
        platform = PlatformSimulator(folder / "platform")
        platform.start()
        stack.callback(platform.stop)
        tool_port, baseline_port = free_port(), free_port()
        tool = prepare_tool(folder / "tool", tool_port, platform)
        package = folder / "course.zip"
        build_package(package, media_mib=1, media_files=1, small_files=20)
        config_file = folder / "tool" / "config.toml"
        tool = dataclasses.replace(tool, module_key=import_scorm_module(config_file, package))
        baseline = ServedApp(
            "baseline",
            "bench.baseline_commit_app:create_app()",
            server_env({"BASELINE_COMMIT_DB": str(folder / "baseline.sqlite")}),
            200,
        )
        tool_server = start(
            stack, GunicornServer(tool, tool_port, folder / "tool.log", args.workers)
        )
        baseline_server = start(
            stack,
            GunicornServer(baseline, baseline_port, folder / "baseline.log", args.workers),
        )
        tool_tokens = [
            runtime_token(platform, tool, tool_server.base_url, f"scorm-learner-{i}")
            for i in range(args.clients + 1)
        ]
        body = json.dumps(commit_body(SCO, 1, "x" * SUSPEND_CHARS))
        print(
            f"{args.rounds} rounds of {args.warmup:g} s warm-up + {args.seconds / args.rounds:g} s "
            f"per phase, gunicorn -w "
            f"{args.workers} (sync workers), SQLite, commit body {len(body)} bytes"
        )
        baseline_tokens = [f"baseline-{i}" for i in range(args.clients + 1)]
        phases = measure(
            {"tool": tool_server, "baseline": baseline_server},
            {"tool": tool_tokens, "baseline": baseline_tokens},
            args,
        )
        tool_phases, baseline_phases = phases["tool"], phases["baseline"]
        print_phases(tool_server, tool_phases)
        print_phases(baseline_server, baseline_phases)
        for tool_phase, baseline_phase in zip(tool_phases, baseline_phases, strict=True):
            if baseline_phase.rate > 0:
                print(
                    f"tool / baseline throughput, {tool_phase.name.split()[-1]}: "
                    f"{tool_phase.rate / baseline_phase.rate:.2f}"
                )
        failed = sum(sum(p.errors.values()) for p in tool_phases + baseline_phases)
        if failed:
            print(f"tool log tail:\n{tool_server.log_tail(10)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
