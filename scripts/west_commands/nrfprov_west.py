# SPDX-License-Identifier: Apache-2.0
"""`west nrfprov`: run nrfprov with the workspace's build directory and flash runner.

    west nrfprov provision -m manifest.yaml --flash-at-client at_client.hex [-d build]
    west nrfprov flash [-d build]
    west nrfprov reset [--kind pin]
    west nrfprov plan -m manifest.yaml

The build directory is -d/--build-dir, else west's `build.dir-fmt` when it has no
placeholders, else ./build. The runner is -r/--runner, else the build's runners.yaml
flash-runner: BUILD/zephyr/runners.yaml, or for a sysbuild build (BUILD/domains.yaml, nRF
Connect SDK 2.7 and later) the default domain's BUILD/<domain>/zephyr/runners.yaml. nrfjprog,
nrfutil, jlink and openocd map to nrfprov's runner of that name; any other runner goes through
`west flash` (nrfprov --runner west --west-runner NAME). Every other argument goes to nrfprov
unchanged. nrfprov is $NRFPROV, else `nrfprov` on PATH.
"""

import argparse
import os
import subprocess
import sys
from pathlib import Path

from west.commands import CommandError, WestCommand

VERBS = ("provision", "flash", "reset", "plan")
NRFPROV_RUNNERS = ("nrfjprog", "nrfutil", "jlink", "openocd")


HELP = "provision nRF91 modem credentials with nrfprov"


def _load_yaml(text):
    """The YAML document in text, or None when PyYAML is missing (west itself depends on it)."""
    try:
        import yaml
    except ImportError:
        return None
    return yaml.safe_load(text) or {}


def _scalar(text, key):
    """A top-level `key: value` line, for when PyYAML is missing."""
    for line in text.splitlines():
        if line.startswith(key + ":"):
            return line.split(":", 1)[1].strip().strip("'\"") or None
    return None


def domain_dir(build_dir):
    """The default domain's build directory of a sysbuild build (BUILD/domains.yaml), or None.

    Paths are resolved as Zephyr's build helpers do: the top build_dir against the file's
    directory, each domain's against the top; a build_dir that no longer exists (a moved
    build) falls back to BUILD/<domain>, where sysbuild puts it."""
    path = Path(build_dir) / "domains.yaml"
    try:
        text = path.read_text()
    except OSError:
        return None
    data = _load_yaml(text)
    if data is None:
        name = _scalar(text, "default")
        return Path(build_dir) / name if name else None
    name = data.get("default")
    top = Path(build_dir) / (data.get("build_dir") or ".")
    for d in data.get("domains") or []:
        if d.get("name") == name:
            bd = top / (d.get("build_dir") or name)
            return bd if bd.is_dir() else Path(build_dir) / name
    return None


def flash_runner(build_dir):
    """The build's flash-runner: the default domain's runners.yaml for a sysbuild build,
    else BUILD/zephyr/runners.yaml; None when there is none."""
    base = domain_dir(build_dir) or Path(build_dir)
    try:
        text = (base / "zephyr" / "runners.yaml").read_text()
    except OSError:
        return None
    data = _load_yaml(text)
    value = _scalar(text, "flash-runner") if data is None else data.get("flash-runner")
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
        # The one-line help lives in west-commands.yml, which is what `west -h` shows; west
        # never used the constructor's copy, and current west warns when one is given (west
        # PR 933). Older west requires the argument, so it is passed empty, the value west
        # takes for "none".
        super().__init__(
            "nrfprov",
            "",
            __doc__,
            accepts_unknown_args=True,
        )

    def do_add_parser(self, parser_adder):
        parser = parser_adder.add_parser(
            self.name,
            help=HELP,
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
