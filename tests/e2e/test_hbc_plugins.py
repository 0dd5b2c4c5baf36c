"""hbc end to end: plugins that hang, crash or are refused, the loader's
decisions, and `hbc --test-plugin`.

Plugins are the fixtures of tests/plugins (fx_*.so) and the real os.so
and load.so, linked into a plugin directory per client.
Run: HB_BUILD=build python3 -m unittest -v test_hbc_plugins
"""
import json
import os
import re
import unittest

import hbtest
from hbtest import HbTestCase, wait_for

HTB = 1


def alive(pid):
    """Whether process pid exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class RunawayPluginTest(HbTestCase):

    def host(self, d, uuid):
        rows = d.query("SELECT status, status_msg, state FROM hosts"
                       " WHERE uuid = ?", (uuid,))
        return rows[0] if rows else (None, None, None)

    def latest(self, d, plugin):
        rows = d.query("SELECT status, message FROM plugin_latest"
                       " WHERE plugin = ?", (plugin,))
        return rows[0] if rows else (None, None)

    def history(self, d, plugin):
        return d.scalar("SELECT count(*) FROM plugin_history"
                        " WHERE plugin = ?", (plugin,))

    def assertSteadyHeartbeats(self, tap, first, n=8, limit=1.5):
        """n heartbeats after index first, none more than limit s apart."""
        wait_for("%d heartbeats" % n,
                 lambda: len(tap.times(HTB)) >= first + n + 1, n + 6)
        times = tap.times(HTB)[first:first + n + 1]
        gaps = [round(b - a, 3) for a, b in zip(times, times[1:])]
        self.assertTrue(all(g < limit for g in gaps), gaps)
        return gaps

    def test_hanging_plugin_does_not_delay_heartbeats(self):
        """fx_hang sleeps 20 s in collect(), timeout 2 s: heartbeats keep
        their 1 s pace, the plugin and the host turn UNKNOWN "timeout",
        load goes on."""
        d = self.hbd().start()
        tap = hbtest.UdpTap(d.port)
        self.addCleanup(tap.close)
        c = self.hbc(port=tap.port, key=d.key, plugins=["fx_hang", "load"],
                     sections={"fx_hang": {"seconds": 20, "timeout": "2s"},
                               "load": {"interval": "1s", "warning": 1000,
                                        "critical": 2000}})
        c.start()
        uuid = c.host_id()
        # The first collection starts at once and hangs for 20 s: the
        # whole measurement lies inside it.
        self.assertSteadyHeartbeats(tap, 0)
        c.wait_log("plugin fx_hang: collect() timed out after 2000 ms")
        status, msg = self.latest(d, "fx_hang")
        self.assertEqual(status, 3)
        self.assertIn("timeout", msg)
        wait_for("host status UNKNOWN", lambda: self.host(d, uuid)[0] == 3)
        _, status_msg, state = self.host(d, uuid)
        self.assertEqual(state, "UP")
        self.assertIn("fx_hang", status_msg)
        self.assertIn("timeout", status_msg)
        self.assertGreaterEqual(self.history(d, "load"), 5)
        self.assertTrue(c.alive())
        self.assertEqual(c.stop(), 0)
        self.assertEqual(d.stop(), 0)
        self.assertNoErrors(d)
        self.assertNoErrors(c)

    def test_isolated_hanging_plugin_is_killed(self):
        """Isolated, the hanging collection's process is killed at the
        timeout and restarted; heartbeats keep their pace."""
        d = self.hbd().start()
        tap = hbtest.UdpTap(d.port)
        self.addCleanup(tap.close)
        c = self.hbc(port=tap.port, key=d.key, plugins=["fx_hang"],
                     sections={"fx_hang": {"seconds": 20, "timeout": "1s",
                                           "isolate": True}})
        c.start()
        self.assertSteadyHeartbeats(tap, 0)
        self.assertIn("plugin fx_hang: collect() timed out after 1000 ms",
                      c.log())
        wait_for("a second process", lambda: len(re.findall(
            r"plugin fx_hang: process \d+ ready", c.log())) >= 2)
        status, msg = self.latest(d, "fx_hang")
        self.assertEqual(status, 3)
        self.assertIn("timeout", msg)
        pids = [int(p) for p in re.findall(
            r"plugin fx_hang: (?:isolated in process|process) (\d+)",
            c.log())]
        self.assertEqual(c.stop(), 0)
        # No plugin process outlives hbc.
        wait_for("the plugin processes gone", lambda: not any(
            alive(p) for p in pids), 5)
        self.assertEqual(d.stop(), 0)
        self.assertNoErrors(d)
        self.assertNoErrors(c)

    def test_isolated_crashing_plugin_is_contained(self):
        """fx_crash (SIGSEGV in collect) isolated: reported UNKNOWN with
        the signal, restarted and retried; hbc and load live on."""
        d = self.hbd().start()
        c = self.hbc(d, ["fx_crash", "load"],
                     sections={"fx_crash": {"isolate": True},
                               "load": {"interval": "1s", "warning": 1000,
                                        "critical": 2000}})
        c.start()
        uuid = c.host_id()
        wait_for("host status UNKNOWN", lambda: self.host(d, uuid)[0] == 3)
        _, status_msg, state = self.host(d, uuid)
        self.assertEqual(state, "UP")
        self.assertIn("fx_crash", status_msg)
        self.assertIn("SIGSEGV", status_msg)
        status, msg = self.latest(d, "fx_crash")
        self.assertEqual(status, 3)
        self.assertIn("SIGSEGV", msg)
        # Retried: restarted with backoff (1 s, 2 s...), dies again.
        wait_for("three deaths", lambda: len(re.findall(
            r"plugin fx_crash: process died: signal 11 \(SIGSEGV\)",
            c.log())) >= 3, 15)
        self.assertGreaterEqual(len(re.findall(
            r"plugin fx_crash: restarting in \d+ ms", c.log())), 2)
        self.assertRegex(c.log(), r"plugin fx_crash: isolated in process")
        self.assertGreaterEqual(len(re.findall(
            r"plugin fx_crash: process \d+ ready", c.log())), 2)
        self.assertTrue(c.alive())
        pids = [int(p) for p in re.findall(
            r"plugin fx_crash: (?:isolated in process|process) (\d+)",
            c.log())]
        n = self.history(d, "load")
        wait_for("load samples go on", lambda: self.history(
            d, "load") >= n + 2)
        self.assertEqual(self.host(d, uuid)[2], "UP")
        self.assertEqual(c.stop(), 0)
        wait_for("the plugin processes gone", lambda: not any(
            alive(p) for p in pids), 5)
        self.assertEqual(d.stop(), 0)
        self.assertNoErrors(d)
        self.assertNoErrors(c)


class LoaderTest(HbTestCase):

    def test_loader_decisions(self):
        """Each file of plugin_dir gets a logged decision; only the
        plugins loaded reach the server."""
        d = self.hbd().start()
        c = self.hbc(d, ["fx_good", "fx_init_fails", "fx_monitor",
                         "fx_wrong_abi", "load", "os"],
                     max_plugins=2,
                     log={"level": "info", "modules": {"client": "debug"}},
                     sections={"fx_monitor": {"enabled": False},
                               "load": {"interval": "1s"}})
        c.add_plugin("_fx_skipped", "_fx_skipped.so")
        c.add_plugin("fx_good", "fx_good2.so")  # declares fx_good too
        with open(os.path.join(c.plugin_dir, "README.txt"), "w") as f:
            f.write("not a plugin\n")
        os.symlink(os.path.join(c.dir, "nowhere.so"),
                   os.path.join(c.plugin_dir, "aa_dangling.so"))
        c.start()
        log = c.log()
        expect = [
            r"plugin file _fx_skipped\.so: skipped",
            r"plugin file README\.txt: skipped",
            r"plugin aa_dangling: refused: .*not a readable file",
            r"plugin fx_good: loaded \(info\)",
            r"plugin fx_good2: refused: another file already loaded"
            r" plugin fx_good",
            r"plugin fx_init_fails: refused: .*init",
            r"plugin fx_monitor: skipped: disabled",
            r"plugin fx_wrong_abi: refused: .*ABI",
            r"plugin load: loaded \(monitor\)",
            r"plugin os: refused: max_plugins \(2\) reached",
            r"started: .*, 2 plugins",
        ]
        for e in expect:
            self.assertRegex(log, e)
        self.assertNotIn("fx_skipped: loaded", log)
        wait_for("fx_good and load stored", lambda: d.scalar(
            "SELECT count(*) FROM plugin_latest") == 2)
        wait_for("a few load samples", lambda: d.scalar(
            "SELECT count(*) FROM plugin_history WHERE plugin = 'load'")
            >= 3)
        self.assertEqual(sorted(p for (p,) in d.query(
            "SELECT DISTINCT plugin FROM plugin_history")),
            ["fx_good", "load"])
        self.assertEqual(sorted(p for (p,) in d.query(
            "SELECT plugin FROM plugin_latest")), ["fx_good", "load"])
        self.assertEqual(c.stop(), 0)
        self.assertEqual(d.stop(), 0)
        self.assertNoErrors(d)
        self.assertNoErrors(c)


class TestPluginTest(HbTestCase):
    """hbc --test-plugin PATH [-c FILE]: one collection, printed as
    JSON."""

    def test_os(self):
        r = hbtest.run_hbc("--test-plugin", hbtest.plugin_path("os"))
        self.assertEqual(r.returncode, 0, r.stderr)
        out = json.loads(r.stdout)
        self.assertEqual(out["plugin"], "os")
        self.assertEqual(out["kind"], "info")
        self.assertEqual(out["status"], "OK")
        self.assertEqual(out["data"]["uname"]["sysname"], "Linux")
        self.assertIsInstance(out["time"], int)

    def test_load_is_a_monitor(self):
        r = hbtest.run_hbc("--test-plugin", hbtest.plugin_path("load"))
        self.assertEqual(r.returncode, 0, r.stderr)
        out = json.loads(r.stdout)
        self.assertEqual((out["plugin"], out["kind"]), ("load", "monitor"))
        self.assertIn("load1", out["data"])

    def test_wrong_abi_is_refused(self):
        path = hbtest.plugin_path("fx_wrong_abi")
        r = hbtest.run_hbc("--test-plugin", path)
        self.assertNotEqual(r.returncode, 0)
        self.assertEqual(r.stdout, "")
        self.assertIn(path, r.stderr)
        self.assertRegex(r.stderr, r"(?i)abi")
        self.assertIn("2", r.stderr)  # the plugin's ABI major

    def test_init_failure_is_refused(self):
        path = hbtest.plugin_path("fx_init_fails")
        r = hbtest.run_hbc("--test-plugin", path)
        self.assertNotEqual(r.returncode, 0)
        self.assertEqual(r.stdout, "")
        self.assertIn(path, r.stderr)
        self.assertRegex(r.stderr, r"init")

    def test_missing_file(self):
        path = os.path.join(self.tmp, "nope.so")
        r = hbtest.run_hbc("--test-plugin", path)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(path, r.stderr)

    def test_unknown_status_exits_1(self):
        """A collection ending UNKNOWN (a builder error) still prints
        its JSON, and exits 1."""
        r = hbtest.run_hbc("--test-plugin",
                           hbtest.plugin_path("fx_bad_builder"))
        self.assertEqual(r.returncode, 1, r.stderr)
        out = json.loads(r.stdout)
        self.assertEqual(out["status"], "UNKNOWN")
        self.assertNotEqual(out["message"], "")

    def test_config_section_reaches_the_plugin(self):
        """-c FILE hands the plugin its section (by file name)."""
        c = self.hbc(port=7781, plugins=["fx_good"],
                     sections={"fx_good": {"greeting": "hi there",
                                           "count": 7,
                                           "items": ["a", "b"]}})
        r = hbtest.run_hbc("--test-plugin", hbtest.plugin_path("fx_good"),
                           "-c", c.conf)
        self.assertEqual(r.returncode, 0, r.stderr)
        data = json.loads(r.stdout)["data"]
        self.assertEqual(data["greeting"], "hi there")
        self.assertEqual(data["count"], 7)
        self.assertEqual(data["items"], ["a", "b"])
        self.assertEqual(data["hostname"], c.hostname)
        # Without -c: the plugin's defaults.
        r = hbtest.run_hbc("--test-plugin", hbtest.plugin_path("fx_good"))
        self.assertEqual(r.returncode, 0, r.stderr)
        data = json.loads(r.stdout)["data"]
        self.assertEqual((data["greeting"], data["count"]), ("hello", 1))

    def test_bad_config_is_refused(self):
        conf = os.path.join(self.tmp, "bad.yaml")
        with open(conf, "w") as f:
            f.write("no_such_key: 1\n")
        r = hbtest.run_hbc("--test-plugin", hbtest.plugin_path("fx_good"),
                           "-c", conf)
        self.assertNotEqual(r.returncode, 0)
        self.assertEqual(r.stdout, "")
        self.assertIn("no_such_key", r.stderr)


if __name__ == "__main__":
    unittest.main()
