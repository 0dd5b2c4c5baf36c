"""hbd end to end: what an operator does: check configurations, reload,
ask for counters, stop, run as an unprivileged user.

Run: HB_BUILD=build python3 -m unittest -v test_hbd_ops
"""
import os
import pwd
import re
import signal
import socket
import subprocess
import unittest

import hbtest
from hbtest import HbTestCase, wait_for

REPO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def read(path):
    with open(path) as f:
        return f.read()


class ConfigCheckTest(HbTestCase):

    def setUp(self):
        super().setUp()
        self.key = os.path.join(self.tmp, "hb.key")
        subprocess.run([hbtest.KEYGEN, "-i", "1", "-o", self.key],
                       check=True, stderr=subprocess.DEVNULL)
        # Three lines, so that the line numbers below are easy to follow.
        self.head = ("port: 0\ndatabase: %s/hb.db\nkey_file: %s\n"
                     % (self.tmp, self.key))

    def check(self, body, name="bad.yaml"):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(self.head + body)
        return hbtest.check_conf(path)

    def assertConfError(self, body, where, words):
        """hbd -n exits 2 naming bad.yaml:LINE:COL: and the problem."""
        r = self.check(body)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("bad.yaml:%s: " % where, r.stderr)
        line = [l for l in r.stderr.splitlines()
                if "bad.yaml:%s: " % where in l][0]
        self.assertIn(words, line)

    def test_valid_config(self):
        r = self.check("late_factor: 2\nstore: {flush: 500ms}\n", "ok.yaml")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), "%s/ok.yaml: ok" % self.tmp)
        self.assertEqual(r.stderr, "")

    def test_repo_config_passes(self):
        """config/hbd.yaml, with its key_file pointed at a real key."""
        with open(os.path.join(REPO, "config", "hbd.yaml")) as f:
            text = f.read()
        self.assertEqual(len(re.findall(r"(?m)^key_file: ", text)), 1)
        text = re.sub(r"(?m)^key_file: .*$", "key_file: " + self.key, text)
        path = os.path.join(self.tmp, "hbd.yaml")
        with open(path, "w") as f:
            f.write(text)
        r = hbtest.check_conf(path)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("ok", r.stdout)

    def test_unknown_key(self):
        self.assertConfError("bogus_key: 1\n", "4:1", "unknown key")

    def test_unknown_nested_key(self):
        self.assertConfError("store:\n  batch: 100ms\n  flsh: 1s\n", "6:3",
                             "store.flsh: unknown key")

    def test_bad_value(self):
        self.assertConfError("store:\n  flush: 5 parsecs\n", "5:10",
                             "store.flush")

    def test_value_out_of_range(self):
        self.assertConfError("late_factor: 0.5\n", "4:14", "out of range")

    def test_bad_hook_state(self):
        self.assertConfError("hooks:\n  commands:\n    - run: [/bin/true]\n"
                             "      on: [DOWN, SIDEWAYS]\n", "7:18",
                             "SIDEWAYS is not a state")

    def test_yaml_syntax_error(self):
        # A mapping where a scalar value already started: libyaml points
        # at the offending ':'.
        r = self.check("late_factor: 2\n  down_factor: 3\n")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("bad.yaml:5:14: syntax error", r.stderr)

    def test_yaml_unclosed_flow_sequence(self):
        self.assertConfError("listen: [127.0.0.1\nport: 0\n", "5:5",
                             "syntax error")

    def test_cross_key_error_names_the_file(self):
        """A problem between keys (down_factor not above late_factor) is
        an error too, and like every other one it names the file.

        Fails today (minor): hbd -n prints the bare sentence "down_factor
        must be larger than late_factor", without the file's name or a
        position (see the report)."""
        r = self.check("late_factor: 3\ndown_factor: 2\n")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("down_factor must be larger than late_factor",
                      r.stderr)
        self.assertIn("bad.yaml", r.stderr)

    def test_missing_key_file(self):
        self.head = "port: 0\nkey_file: %s/no-such.key\n" % self.tmp
        r = self.check("")
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("no-such.key", r.stderr)

    def test_relative_hook_command_rejected(self):
        """hooks.commands[].run must name an absolute path (the key's own
        help says so, and hbd refuses to start with a relative one), so
        `hbd -n` must reject it with its position."""
        self.assertConfError("hooks:\n  commands:\n    - run: [bin/page]\n",
                             "6:13", "absolute")


class SignalsTest(HbTestCase):

    def test_reload_counters_and_stop(self):
        """SIGHUP applies a valid new config and keeps the running one
        when the new one is broken; SIGUSR1 logs the counters; SIGTERM
        stops cleanly."""
        d = self.hbd().start()

        since = d.log_size()
        d.write_conf("late_factor: 2\n")
        d.signal(signal.SIGHUP)
        d.wait_log("reloaded", since)

        since = d.log_size()
        d.write_conf("late_factor: 3\nbogus_key: 1\n")
        d.signal(signal.SIGHUP)
        d.wait_log("reload failed", since)
        with open(d.conf) as f:
            line = f.read().splitlines().index("bogus_key: 1") + 1
        self.assertIn("reload: %s:%d:1: bogus_key: unknown key"
                      % (d.conf, line), d.log()[since:])
        self.assertNotIn("reloaded", d.log()[since:])

        # Still answering, and with late_factor 2 (not 1.5, not 3).
        r = hbtest.load(d, "-n", 5, "-c", 1, "-i", 1, "--drain", 0.2)
        self.assertEqual(r["lost"], 0, r)
        self.assertEqual(r["acked"], 5, r)
        wait_for("5 LATE events", lambda: d.scalar(
            "SELECT count(*) FROM events WHERE to_state = 'LATE'") == 5, 10)
        wait_for("last-seen data flushed", lambda: d.scalar(
            "SELECT count(*) FROM hosts WHERE received = 1") == 5)
        for late, last_seen, reason in d.query(
                "SELECT e.time, h.last_seen, e.reason FROM events e"
                " JOIN hosts h ON h.id = e.host_id WHERE e.to_state ="
                " 'LATE'"):
            self.assertGreaterEqual(late - last_seen, 2000 - 20, reason)
            self.assertLess(late - last_seen, 3000 - 20, reason)
            self.assertRegex(reason, r"^no heartbeat for 2\.\d s")

        since = d.log_size()
        d.signal(signal.SIGUSR1)
        d.wait_log("counters: hosts=5", since)
        c = d.live_counters()
        self.assertEqual(c["hosts"], 5)
        self.assertEqual(c["rx_htb"], 5)
        self.assertEqual(c["acks"], 5)
        self.assertTrue(d.proc.poll() is None, "SIGUSR1 stopped hbd")

        since = d.log_size()
        self.assertEqual(d.stop(), 0)
        log = d.log()[since:]
        self.assertIn("signal 15: shutting down", log)
        self.assertTrue(log.rstrip().endswith("stopped"), log)
        self.assertEqual(d.counter("hosts"), 5)
        self.assertNoErrors(d, allowed=("reload",))

    def test_reload_changes_hooks(self):
        """A hook added by SIGHUP runs on the next transition."""
        root = os.path.join(self.tmp, "hooks")
        os.mkdir(root)
        d = self.hbd().start()
        since = d.log_size()
        d.write_conf("hooks:\n  commands:\n    - run: [/bin/sh, -c, 'echo"
                     " $HB_STATE > %s/$HB_HOSTNAME']\n      on: [LATE]\n"
                     % root)
        d.signal(signal.SIGHUP)
        d.wait_log("reloaded", since)
        r = hbtest.load(d, "-n", 2, "-c", 1, "-i", 1, "--drain", 0.2)
        self.assertEqual(r["lost"], 0, r)
        wait_for("hook output", lambda: sorted(os.listdir(root)) ==
                 ["load-0", "load-1"], 10)
        for name in ("load-0", "load-1"):
            wait_for("hook output written",
                     lambda: read(os.path.join(root, name)) == "LATE\n")
        self.assertEqual(d.stop(), 0)
        self.assertNoErrors(d)


def free_port():
    """A UDP port free now on 127.0.0.1 (a daemon's log is syslog: hbd in
    daemon mode needs a port known beforehand)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def alive(pid):
    """Whether pid runs (a zombie left to a non-reaping init does not)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class DaemonModeTest(HbTestCase):
    """hbd without -f: detaches, writes its pid file, removes it at exit.
    Logs go to syslog, so these tests watch the pid file and the port."""

    def daemon(self, extra, pid_dir):
        d = self.hbd()
        d.port = free_port()
        d.pid_file = os.path.join(pid_dir, "hbd.pid")
        d.write_conf(extra + "pid_file: %s\n" % d.pid_file)
        with open(d.conf) as f:
            text = f.read().replace("port: 0\n", "port: %d\n" % d.port)
        with open(d.conf, "w") as f:
            f.write(text)
        self.addCleanup(self.kill_daemon, d)
        return d

    def kill_daemon(self, d):
        try:
            with open(d.pid_file) as f:
                pid = int(f.read())
        except (OSError, ValueError):
            return
        if alive(pid):
            os.kill(pid, signal.SIGKILL)

    def run_daemon(self, d):
        """Starts d detached; returns its pid from the pid file."""
        r = subprocess.run([hbtest.HBD, "-c", d.conf], capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(r.returncode, 0,
                         "hbd failed to start: %s" % r.stderr)
        with open(d.pid_file) as f:
            pid = int(f.read())
        self.assertTrue(alive(pid))
        return pid

    def stop_daemon(self, d, pid):
        os.kill(pid, signal.SIGTERM)
        wait_for("hbd to exit", lambda: not alive(pid), 15)
        wait_for("the pid file removed",
                 lambda: not os.path.exists(d.pid_file), 5)

    def test_daemon_mode(self):
        piddir = os.path.join(self.tmp, "run")
        os.mkdir(piddir)
        d = self.daemon("", piddir)
        pid = self.run_daemon(d)
        r = hbtest.load(d, "-n", 20, "-c", 1)
        self.assertEqual(r["lost"], 0, r)
        wait_for("20 hosts", lambda: d.scalar(
            "SELECT count(*) FROM hosts") == 20)
        self.stop_daemon(d, pid)
        self.assertEqual(d.counter("rx_htb"), 20)

    @unittest.skipUnless(os.geteuid() == 0, "needs root")
    def test_daemon_mode_with_user(self):
        """Daemon mode with `user: nobody` and the pid file in a missing
        directory under a root-owned one, as /run/hb/hbd.pid is by
        default: hbd creates the directory for nobody, starts, drops to
        nobody, works, and at exit removes its pid file."""
        pw = pwd.getpwnam("nobody")
        os.chmod(self.tmp, 0o755)
        rundir = os.path.join(self.tmp, "run")  # root's, 0755, like /run
        os.mkdir(rundir, 0o755)
        piddir = os.path.join(rundir, "hb")  # hbd makes it, like /run/hb
        d = self.daemon("user: nobody\n", piddir)
        os.chmod(d.dir, 0o755)
        dbdir = os.path.join(d.dir, "db")
        os.mkdir(dbdir, 0o755)
        os.chown(dbdir, pw.pw_uid, pw.pw_gid)
        d.db = os.path.join(dbdir, "hb.db")
        with open(d.conf) as f:
            text = f.read()
        with open(d.conf, "w") as f:
            f.write(re.sub(r"(?m)^database: .*$", "database: " + d.db, text))
        pid = self.run_daemon(d)
        with open("/proc/%d/status" % pid) as f:
            self.assertIn("\nUid:\t%d\t" % pw.pw_uid, f.read())
        self.assertEqual(os.stat(piddir).st_uid, pw.pw_uid)
        r = hbtest.load(d, "-n", 5, "-c", 1)
        self.assertEqual(r["lost"], 0, r)
        self.stop_daemon(d, pid)


class PrivilegeDropTest(HbTestCase):

    @unittest.skipUnless(os.geteuid() == 0, "needs root")
    def test_runs_as_nobody(self):
        """Started as root with `user: nobody`: every uid and gid is
        nobody's once started, and hbd still writes its database."""
        pw = pwd.getpwnam("nobody")
        d = self.hbd()
        # nobody must reach the database directory.
        os.chmod(self.tmp, 0o755)
        os.chmod(d.dir, 0o755)
        dbdir = os.path.join(d.dir, "db")
        os.mkdir(dbdir, 0o755)
        os.chown(dbdir, pw.pw_uid, pw.pw_gid)
        d.db = os.path.join(dbdir, "hb.db")
        d.write_conf("user: nobody\n")
        d.start()
        self.assertIn("running as nobody", d.log())
        with open("/proc/%d/status" % d.proc.pid) as f:
            status = dict(l.split(":", 1) for l in f.read().splitlines())
        self.assertEqual(status["Uid"].split(), [str(pw.pw_uid)] * 4)
        self.assertEqual(status["Gid"].split(), [str(pw.pw_gid)] * 4)
        self.assertEqual(status["Groups"].split(), [str(pw.pw_gid)])
        r = hbtest.load(d, "-n", 20, "-c", 2, "-r", 200)
        self.assertEqual(r["lost"], 0, r)
        wait_for("20 hosts written", lambda: d.scalar(
            "SELECT count(*) FROM hosts WHERE received = 2") == 20, 10)
        for suffix in ("", "-wal", "-shm", ".epoch"):
            path = d.db + suffix
            if os.path.exists(path):
                self.assertEqual(os.stat(path).st_uid, pw.pw_uid, path)
        self.assertEqual(d.stop(), 0)
        self.assertEqual(d.counter("rx_htb"), 40)
        self.assertNoErrors(d)
        # A restart as root on nobody's files works too.
        d.start()
        self.assertIn("20 hosts loaded", d.log())
        self.assertEqual(d.stop(), 0)
        self.assertNoErrors(d)


if __name__ == "__main__":
    unittest.main()
