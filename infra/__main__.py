"""python -m infra: the pipeline's local infrastructure, without Docker.

up [--run-dir .run] [--services-only]   start everything detached; print the gateway URL;
                                        the workers and the gateway are restarted if they
                                        die (supervisor.log in the run directory)
   [--gateways N] [--workers M]         N gateway processes, M stream workers (default 1
                                        each, or ECG_GATEWAYS and ECG_WORKERS); M may not
                                        exceed ECG_TOPIC_PARTITIONS (default 4)
   [--brokers B]                        B Kafka brokers, 1 or 3 (default 1, or ECG_BROKERS);
                                        3: a KRaft cluster whose topics get 3 replicas,
                                        2 of them in sync for a write
down [--run-dir .run]                   stop what `up` started (idempotent)
run [--services-only] [--gateways N] [--workers M] [--brokers B] -- CMD...
                                        start in a temporary directory, run CMD with
                                        the ECG_* environment (and ECG_RUN_DIR,
                                        where state.json lists the pids), stop everything,
                                        exit with CMD's status (125: startup failed)
    [--services local|testcontainers]   Kafka and PostgreSQL as local processes (default,
                                        or ECG_TEST_SERVICES), or from testcontainers
                                        (a Docker engine; one broker)
ensure-compose-cli                      make sure `docker compose` or `docker-compose` exists
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from infra import commands
from infra.compose_cli import ensure_compose_command
from infra.containers import SERVICES
from infra.processes import StartupError
from infra.scale import Scale, count, refusal


def parse(argv: list[str], env: dict[str, str] | None = None) -> argparse.Namespace:
    env = dict(os.environ) if env is None else env
    parser = argparse.ArgumentParser(
        prog="python -m infra",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    up = sub.add_parser("up", help="start the local stack and return once it is ready")
    down = sub.add_parser("down", help="stop what `up` started")
    for action in (up, down):
        action.add_argument("--run-dir", type=Path, default=Path(".run"), help="default: .run")
    up.add_argument("--services-only", action="store_true", help="PostgreSQL and Kafka only")
    run = sub.add_parser("run", help="run a command against a throwaway stack")
    run.add_argument("--services-only", action="store_true", help="PostgreSQL and Kafka only")
    for action in (up, run):
        for option, variable in (
            ("--gateways", "ECG_GATEWAYS"),
            ("--workers", "ECG_WORKERS"),
            ("--brokers", "ECG_BROKERS"),
        ):
            action.add_argument(
                option,
                type=count,
                default=env.get(variable) or "1",  # a string default goes through `type`
                help=f"default: ${variable} or 1",
            )
    run.add_argument(
        "--services",
        default=env.get("ECG_TEST_SERVICES") or "local",
        help=f"where Kafka and PostgreSQL come from: {' or '.join(SERVICES)} "
        "(default: $ECG_TEST_SERVICES or local)",
    )
    run.add_argument("command", nargs=argparse.REMAINDER, help="-- CMD [ARGS...]")
    sub.add_parser("ensure-compose-cli", help="install docker-compose if no Compose CLI exists")
    args = parser.parse_args(argv)
    if args.action == "run":
        if args.command[:1] == ["--"]:
            args.command = args.command[1:]
        if not args.command:
            parser.error("run: give the command to run after --")
        if args.services not in SERVICES:
            parser.error(
                f"run: --services (or ECG_TEST_SERVICES) must be {' or '.join(SERVICES)}, "
                f"got {args.services!r}"
            )
        if args.services == "testcontainers" and args.brokers != 1:
            parser.error("run: testcontainers gives one Kafka broker; --brokers 3 needs local ones")
    if args.action in ("up", "run"):
        args.scale = Scale(gateways=args.gateways, workers=args.workers, brokers=args.brokers)
        if (reason := refusal(args.scale, env)) is not None:
            parser.error(reason)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    if args.action == "up":
        return commands.up(args.run_dir, services_only=args.services_only, scale=args.scale)
    if args.action == "down":
        return commands.down(args.run_dir)
    if args.action == "run":
        return commands.run(
            args.command,
            services_only=args.services_only,
            scale=args.scale,
            services=args.services,
        )
    try:
        print(" ".join(ensure_compose_command()))
    except (StartupError, RuntimeError) as exc:
        print(f"infra: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
