"""Entry point the controller runs: `python -m gpu_orchestrate_worker {host,preflight,doctor}`."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gpu_orchestrate_worker", description="The Python side of gpu-orchestrate; started by the controller, not by hand.")
    commands = parser.add_subparsers(dest="command", required=True)
    host = commands.add_parser("host", help="run one device host")
    host.add_argument(
        "--config-file",
        help="the launch config (JSON), in a file only its owner can read, or - for standard input; "
        "default: the GPU_ORCHESTRATE_HOST_CONFIG variable",
    )
    preflight = commands.add_parser("preflight", help="check packages and the script without importing them")
    preflight.add_argument("--script")
    commands.add_parser("doctor", help="report the interpreter, torch, CUDA and packages as JSON")
    args = parser.parse_args(argv)

    if args.command == "host":
        import os

        from .launch_config import CONFIG_VARIABLE, EXIT_BAD_CONFIG, HostConfig, LaunchConfigError

        try:
            config = HostConfig.load(args.config_file)
        except LaunchConfigError as exc:
            print(exc, file=sys.stderr)  # the controller shows it with the host's exit
            return EXIT_BAD_CONFIG
        # Not passed on to the replicas' environment (they are given the config itself), nor so to
        # the user's script and what it starts: over TCP the config holds the run's keys.
        os.environ.pop(CONFIG_VARIABLE, None)
        from .host import host_main

        return host_main(config)
    from .environment import doctor, preflight as run_preflight, print_json

    print_json(run_preflight(args.script) if args.command == "preflight" else doctor())
    return 0


if __name__ == "__main__":
    sys.exit(main())
