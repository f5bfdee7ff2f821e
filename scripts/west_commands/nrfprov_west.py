# SPDX-License-Identifier: Apache-2.0
"""`west nrfprov`: run nrfprov with the workspace's build directory and flash runner.

    west nrfprov provision -m manifest.yaml --flash-at-client at_client.hex [-d build]
    west nrfprov flash [-d build]
    west nrfprov reset [--kind pin]
    west nrfprov plan -m manifest.yaml

The build directory is -d/--build-dir, else west's `build.dir-fmt` when it has no
placeholders, else ./build. The runner is -r/--runner, else the build's runners.yaml
flash-runner: nrfjprog, nrfutil, jlink and openocd map to nrfprov's runner of that name; any
other runner goes through `west flash` (nrfprov --runner west --west-runner NAME). Every other
argument goes to nrfprov unchanged. nrfprov is $NRFPROV, else `nrfprov` on PATH.
"""

import argparse
import os
import subprocess
import sys
from pathlib import Path

from west.commands import CommandError, WestCommand

VERBS = ("provision", "flash", "reset", "plan")
NRFPROV_RUNNERS = ("nrfjprog", "nrfutil", "jlink", "openocd")


def flash_runner(build_dir):
    """The flash-runner of BUILD/zephyr/runners.yaml, or None."""
    path = Path(build_dir) / "zephyr" / "runners.yaml"
    try:
        text = path.read_text()
    except OSError:
        return None
    try:
        import yaml  # west itself depends on PyYAML

        data = yaml.safe_load(text) or {}
        value = data.get("flash-runner")
    except ImportError:
        value = None
        for line in text.splitlines():
            if line.startswith("flash-runner:"):
                value = line.split(":", 1)[1].strip().strip("'\"")
    return value or None


def runner_args(runner):
    """nrfprov's runner flags for a west runner name."""
    if not runner:
        return []
    if runner in NRFPROV_RUNNERS or runner in ("west", "gdb", "auto"):
        return ["--runner", runner]
    return ["--runner", "west", "--west-runner", runner]


def nrfprov_argv(nrfprov, verb, build_dir, runner, rest):
    """The nrfprov command line for a `west nrfprov` invocation."""
    argv = [nrfprov, verb] + list(rest)
    if verb == "flash":
        argv += ["--build-dir", build_dir]
    elif verb == "provision" and any(a in rest for a in ("--flash-at-client", "--at-client-hex")):
        if not any(a in rest for a in ("--restore-app", "--app-hex", "--keep-at-client", "--build-dir")):
            argv += ["--build-dir", build_dir]
    if verb in ("provision", "flash", "reset"):
        argv += runner_args(runner if runner else flash_runner(build_dir))
    return argv


class NrfProv(WestCommand):
    def __init__(self):
        super().__init__(
            "nrfprov",
            "provision nRF91 modem credentials with nrfprov",
            __doc__,
            accepts_unknown_args=True,
        )

    def do_add_parser(self, parser_adder):
        parser = parser_adder.add_parser(
            self.name,
            help=self.help,
            description=self.description,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        parser.add_argument("verb", choices=VERBS, help="the nrfprov command")
        parser.add_argument("-d", "--build-dir", help="the application's build directory")
        parser.add_argument("-r", "--runner", help="flash runner (default: the build's runners.yaml flash-runner)")
        return parser

    def _default_build_dir(self):
        fmt = None
        try:
            # west >= 1.0 hands the command its configuration; older ones do not.
            fmt = self.config.get("build.dir-fmt")
        except Exception:
            fmt = None
        if fmt and "{" not in fmt:
            return fmt
        return "build"

    def do_run(self, args, unknown_args):
        nrfprov = os.environ.get("NRFPROV", "nrfprov")
        build_dir = args.build_dir or self._default_build_dir()
        argv = nrfprov_argv(nrfprov, args.verb, build_dir, args.runner, unknown_args)
        try:
            rc = subprocess.call(argv)
        except FileNotFoundError:
            print(f"west nrfprov: {nrfprov} not found: install nrfprov or set $NRFPROV", file=sys.stderr)
            raise CommandError(returncode=2)
        if rc != 0:
            raise CommandError(returncode=rc)
