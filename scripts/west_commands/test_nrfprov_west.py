# SPDX-License-Identifier: Apache-2.0
"""Tests of the `west nrfprov` extension without west installed: a fake `west.commands` module
gives the command its base class (the API of west's WestCommand and CommandError), and the command
is driven the way west drives it: add_parser on argparse subparsers, then run(args, unknown).

    python3 test_nrfprov_west.py                         run the tests
    python3 test_nrfprov_west.py west nrfprov VERB ...   act as `west nrfprov VERB ...` (used by
                                                         nrfprov's Go end-to-end test)
"""

import argparse
import json
import os
import stat
import sys
import tempfile
import types
import unittest
from pathlib import Path


def install_fake_west():
    """A stand-in for west's public command API (west.commands.WestCommand, CommandError)."""
    if "west.commands" in sys.modules:
        return
    west = types.ModuleType("west")
    commands = types.ModuleType("west.commands")

    class CommandError(RuntimeError):
        def __init__(self, returncode=1):
            super().__init__()
            self.returncode = returncode

    class WestCommand:
        def __init__(self, name, help, description, accepts_unknown_args=False):
            self.name = name
            self.help = help
            self.description = description
            self._accept_unknown = accepts_unknown_args

        def add_parser(self, parser_adder):
            self.parser = self.do_add_parser(parser_adder)
            return self.parser

        def run(self, args, unknown):
            if unknown and not self._accept_unknown:
                self.parser.error("unexpected arguments: {}".format(unknown))
            self.do_run(args, unknown)

    commands.CommandError = CommandError
    commands.WestCommand = WestCommand
    west.commands = commands
    sys.modules["west"] = west
    sys.modules["west.commands"] = commands


install_fake_west()
sys.path.insert(0, str(Path(__file__).resolve().parent))
import nrfprov_west  # noqa: E402
from west.commands import CommandError  # noqa: E402


def west_main(argv):
    """What west does with `west nrfprov ...`: parse known args, pass the rest, map CommandError."""
    parser = argparse.ArgumentParser(prog="west")
    sub = parser.add_subparsers(dest="command")
    cmd = nrfprov_west.NrfProv()
    cmd.add_parser(sub)
    args, unknown = parser.parse_known_args(argv)
    try:
        cmd.run(args, unknown)
    except CommandError as e:
        return e.returncode
    return 0


class NrfProvWestTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = Path(self.tmp.name)
        self.record = self.dir / "argv.json"
        fake = self.dir / "nrfprov"
        # A fake nrfprov that records its arguments and exits with $FAKE_RC.
        fake.write_text(
            "#!" + sys.executable + "\n"
            "import json, os, sys\n"
            f"open({str(self.record)!r}, 'w').write(json.dumps(sys.argv[1:]))\n"
            "sys.exit(int(os.environ.get('FAKE_RC', '0')))\n"
        )
        fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
        self.env = {k: os.environ.get(k) for k in ("NRFPROV", "FAKE_RC")}
        os.environ["NRFPROV"] = str(fake)
        os.environ.pop("FAKE_RC", None)

    def tearDown(self):
        for k, v in self.env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        self.tmp.cleanup()

    def build(self, runner):
        b = self.dir / "build"
        (b / "zephyr").mkdir(parents=True, exist_ok=True)
        if runner:
            (b / "zephyr" / "runners.yaml").write_text(
                f"runners: [{runner}]\nflash-runner: {runner}\nconfig:\n  hex_file: zephyr.hex\n")
        return str(b)

    def run_west(self, *argv):
        rc = west_main(["nrfprov", *argv])
        return rc, json.loads(self.record.read_text())

    def test_provision_takes_build_dir_and_runner(self):
        b = self.build("nrfjprog")
        rc, argv = self.run_west("provision", "-d", b, "-m", "m.yaml", "--flash-at-client", "at.hex", "--board", "960000001")
        self.assertEqual(rc, 0)
        self.assertEqual(argv, ["provision", "-m", "m.yaml", "--flash-at-client", "at.hex", "--board", "960000001",
                                "--build-dir", b, "--runner", "nrfjprog"])

    def test_provision_with_restore_app_gets_no_build_dir(self):
        b = self.build("jlink")
        rc, argv = self.run_west("provision", "-d", b, "-m", "m.yaml", "--flash-at-client", "a.hex", "--restore-app", "app.hex")
        self.assertEqual(argv[-2:], ["--runner", "jlink"])
        self.assertNotIn("--build-dir", argv)

    def test_provision_without_flashing_lends_only_the_runner(self):
        b = self.build("nrfutil")
        rc, argv = self.run_west("provision", "-d", b, "-m", "m.yaml")
        self.assertEqual(argv, ["provision", "-m", "m.yaml", "--runner", "nrfutil"])

    def test_other_west_runners_go_through_west_flash(self):
        b = self.build("pyocd")
        rc, argv = self.run_west("flash", "-d", b)
        self.assertEqual(argv, ["flash", "--build-dir", b, "--runner", "west", "--west-runner", "pyocd"])

    def test_explicit_runner_wins_and_reset_has_no_build_dir(self):
        b = self.build("nrfjprog")
        rc, argv = self.run_west("reset", "-d", b, "-r", "nrfutil", "--kind", "pin")
        self.assertEqual(argv, ["reset", "--kind", "pin", "--runner", "nrfutil"])

    def test_no_runners_yaml_leaves_auto(self):
        b = self.build(None)
        rc, argv = self.run_west("flash", "-d", b)
        self.assertEqual(argv, ["flash", "--build-dir", b])

    def test_default_build_dir_is_build(self):
        rc, argv = self.run_west("flash")
        self.assertEqual(argv, ["flash", "--build-dir", "build"])

    def test_failure_becomes_command_error(self):
        os.environ["FAKE_RC"] = "7"
        rc, _ = self.run_west("plan", "-m", "m.yaml")
        self.assertEqual(rc, 7)

    def test_missing_nrfprov(self):
        os.environ["NRFPROV"] = str(self.dir / "missing")
        self.assertEqual(west_main(["nrfprov", "flash"]), 2)

    def sysbuild(self, app_runner, abs_paths):
        """A sysbuild build directory: domains.yaml (default app, plus mcuboot), each domain's own
        runners.yaml, no runners.yaml in the top-level zephyr/."""
        b = self.dir / "sysbuild"
        for d in ("zephyr", "app/zephyr", "mcuboot/zephyr"):
            (b / d).mkdir(parents=True, exist_ok=True)
        top = str(b) if abs_paths else "."
        sub = (lambda n: str(b / n)) if abs_paths else (lambda n: n)
        (b / "domains.yaml").write_text(
            f"default: app\nbuild_dir: {top}\ndomains:\n  - name: mcuboot\n    build_dir: {sub('mcuboot')}\n"
            f"  - name: app\n    build_dir: {sub('app')}\nflash_order:\n  - mcuboot\n  - app\n")
        (b / "app" / "zephyr" / "runners.yaml").write_text(f"flash-runner: {app_runner}\nconfig:\n  hex_file: {b}/merged.hex\n")
        (b / "mcuboot" / "zephyr" / "runners.yaml").write_text("flash-runner: nrfutil\n")
        return str(b)

    def test_sysbuild_takes_the_default_domains_runner(self):
        for abs_paths in (True, False):
            b = self.sysbuild("jlink", abs_paths)
            rc, argv = self.run_west("flash", "-d", b)
            self.assertEqual(argv, ["flash", "--build-dir", b, "--runner", "jlink"])

    def test_sysbuild_moved_build_finds_its_domain(self):
        b = self.sysbuild("nrfjprog", True)
        moved = self.dir / "moved"
        os.rename(b, moved)
        rc, argv = self.run_west("reset", "-d", str(moved))
        self.assertEqual(argv, ["reset", "--runner", "nrfjprog"])

    def test_help_follows_current_west(self):
        # The constructor's help is empty (current west warns about any other; older west
        # requires the argument), and the parser still has the one-line help.
        cmd = nrfprov_west.NrfProv()
        self.assertEqual(cmd.help, "")
        parser = argparse.ArgumentParser(prog="west")
        cmd.add_parser(parser.add_subparsers(dest="command"))
        self.assertIn(nrfprov_west.HELP, parser.format_help())

    def test_unknown_verb_is_refused(self):
        with self.assertRaises(SystemExit):
            west_main(["nrfprov", "erase"])


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "west":
        sys.exit(west_main(sys.argv[2:]))
    unittest.main(verbosity=2)
