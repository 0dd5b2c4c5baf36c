"""hbd end to end: host states over time, their events and hooks.

Heartbeats declare a 1 s interval (-i 1), so with the defaults
(late_factor 1.5, down_factor 3) a silent host is LATE 1.5 s and DOWN 3 s
after its last heartbeat.
Run: HB_BUILD=build python3 -m unittest -v test_hbd_states
"""
import os
import time
import unittest

import hbtest
from hbtest import HbTestCase, wait_for

TICK_SLACK_MS = 1100  # state tick (100 ms) + event write + clocks


class StatesTest(HbTestCase):

    def test_silent_hosts_go_late_then_down(self):
        """UP after heartbeats, LATE after 1.5 intervals of silence, DOWN
        after 3, each with an event and a reason, on time."""
        n = 20
        d = self.hbd().start()
        r = hbtest.load(d, "-n", n, "-c", 2, "-i", 1, "-r", 2 * n,
                        "--drain", 0.2)
        self.assertEqual((r["acked"], r["lost"]), (2 * n, 0), r)
        # 3 intervals + 1 s + flush and store slack.
        wait_for("all hosts DOWN", lambda: d.scalar(
            "SELECT count(*) FROM hosts WHERE state = 'DOWN'") == n, 10)
        wait_for("last-seen data flushed", lambda: d.scalar(
            "SELECT count(*) FROM hosts WHERE received = 2") == n, 5)
        hosts = d.query("SELECT id, hostname, last_seen, state_since"
                        " FROM hosts")
        self.assertEqual(len(hosts), n)
        for hid, name, last_seen, since in hosts:
            ev = d.query("SELECT from_state, to_state, time, reason"
                         " FROM events WHERE host_id = ? AND kind = 'state'"
                         " ORDER BY id", (hid,))
            self.assertEqual([(e[0], e[1]) for e in ev],
                             [("STOPPED", "UP"), ("UP", "LATE"),
                              ("LATE", "DOWN")], name)
            self.assertEqual(ev[0][3], "first heartbeat")
            late, down = ev[1][2], ev[2][2]
            self.assertRegex(ev[1][3], r"^no heartbeat for 1\.[5-9] s|"
                             r"^no heartbeat for 2\.\d s", name)
            self.assertIn("interval 1.0 s", ev[1][3])
            self.assertRegex(ev[2][3], r"^no heartbeat for [3-4]\.\d s",
                             name)
            # Not early, not (much) late. These are wall-clock times and
            # hbd times silence on the monotonic clock: a VM's wall clock
            # may be slewed or stepped by tens of ms, hence the margin
            # (the reasons above are measured on the monotonic clock).
            self.assertGreaterEqual(late - last_seen, 1500 - 100, name)
            self.assertLessEqual(late - last_seen, 1500 + TICK_SLACK_MS,
                                 name)
            self.assertGreaterEqual(down - last_seen, 3000 - 100, name)
            self.assertLessEqual(down - last_seen, 3000 + TICK_SLACK_MS,
                                 name)
            self.assertEqual(since, down, name)
        self.assertEqual(d.stop(), 0)
        self.assertEqual(d.counter("transitions"), 3 * n)
        self.assertNoErrors(d)

    def test_heartbeat_brings_a_down_host_back(self):
        """A DOWN host that speaks again is UP, with an event."""
        e = int(time.time()) + 10
        d = self.hbd().start()
        hbtest.load(d, "-n", 5, "-c", 1, "-i", 1, "--seed", "back",
                    "--epoch", e, "--drain", 0.2)
        wait_for("all DOWN", lambda: d.scalar(
            "SELECT count(*) FROM hosts WHERE state = 'DOWN'") == 5, 10)
        r = hbtest.load(d, "-n", 5, "-c", 1, "-i", 1, "--seed", "back",
                        "--epoch", e + 1, "--drain", 0.2)
        self.assertEqual(r["lost"], 0, r)
        wait_for("all UP again", lambda: d.scalar(
            "SELECT count(*) FROM events WHERE from_state = 'DOWN'"
            " AND to_state = 'UP' AND reason = 'heartbeat received'") == 5)
        self.assertEqual(d.stop(), 0)
        self.assertNoErrors(d)

    def test_hold_down_delays_down(self):
        """hold_down: 2s adds 2 s of silence before DOWN; LATE is not
        delayed."""
        n = 5
        d = self.hbd("hold_down: 2s\n").start()
        r = hbtest.load(d, "-n", n, "-c", 1, "-i", 1, "--drain", 0.2)
        self.assertEqual(r["lost"], 0, r)
        wait_for("all DOWN", lambda: d.scalar(
            "SELECT count(*) FROM hosts WHERE state = 'DOWN'") == n, 12)
        wait_for("last-seen data flushed", lambda: d.scalar(
            "SELECT count(*) FROM hosts WHERE received = 1") == n)
        rows = d.query(
            "SELECT h.hostname, h.last_seen, e.to_state, e.time FROM hosts h"
            " JOIN events e ON e.host_id = h.id WHERE e.to_state IN"
            " ('LATE', 'DOWN') ORDER BY e.id")
        self.assertEqual(len(rows), 2 * n)
        for name, last_seen, to, t in rows:
            due = 1500 if to == "LATE" else 5000
            self.assertGreaterEqual(t - last_seen, due - 20, (name, to))
            self.assertLessEqual(t - last_seen, due + TICK_SLACK_MS,
                                 (name, to))
        self.assertEqual(d.stop(), 0)
        self.assertNoErrors(d)

    def test_flapping_host_gets_an_event(self):
        """Returning from DOWN flap_threshold times within flap_window
        makes a "flapping" event, once."""
        n = 3
        e = int(time.time()) + 10
        d = self.hbd("late_factor: 1\ndown_factor: 1.5\nflap_threshold: 2\n"
                     "flap_window: 1m\n").start()
        for k in range(3):
            r = hbtest.load(d, "-n", n, "-c", 1, "-i", 1, "--drain", 0.1,
                            "--seed", "flap", "--epoch", e + k)
            self.assertEqual(r["lost"], 0, r)
            wait_for("all DOWN (%d)" % k, lambda: d.scalar(
                "SELECT count(*) FROM events WHERE to_state = 'DOWN'")
                == n * (k + 1), 10)
        self.assertEqual(d.scalar(
            "SELECT count(*) FROM events WHERE from_state = 'DOWN'"
            " AND to_state = 'UP'"), 2 * n)
        rows = d.query("SELECT host_id, reason FROM events"
                       " WHERE kind = 'flapping'")
        self.assertEqual(len(rows), n, rows)
        self.assertEqual(len({h for h, _ in rows}), n)
        self.assertEqual(d.stop(), 0)
        self.assertEqual(d.counter("flaps"), n)
        self.assertNoErrors(d)

    def test_bye_stops_hosts(self):
        """BYE: STOPPED with a "BYE: reason" event; a STOPPED host never
        goes LATE or DOWN."""
        n = 10
        d = self.hbd().start()
        r = hbtest.load(d, "-n", n, "-c", 1, "-i", 1, "--bye",
                        "--drain", 0.2)
        self.assertEqual(r["sent_bye"], n)
        self.assertEqual(r["sent_htb"], n)
        self.assertEqual(r["bad_acks"], 0)
        wait_for("all STOPPED", lambda: d.scalar(
            "SELECT count(*) FROM hosts WHERE state = 'STOPPED'") == n)
        rows = d.query("SELECT reason FROM events WHERE kind = 'state'"
                       " AND from_state = 'UP' AND to_state = 'STOPPED'")
        self.assertEqual(len(rows), n)
        for (reason,) in rows:
            self.assertTrue(reason.startswith("BYE: hb-load: simulated"),
                            reason)
        time.sleep(3.5)  # past the DOWN deadline of a 1 s interval
        self.assertEqual(d.scalar(
            "SELECT count(*) FROM hosts WHERE state = 'STOPPED'"), n)
        self.assertEqual(d.scalar(
            "SELECT count(*) FROM events WHERE to_state IN ('LATE',"
            " 'DOWN')"), 0)
        self.assertEqual(d.stop(), 0)
        self.assertEqual(d.counter("rx_bye"), n)
        # PROTOCOL.md: a BYE is never acknowledged.
        self.assertEqual(d.counter("acks"), n)
        self.assertNoErrors(d)

    def test_bye_run_reports_no_loss(self):
        """A --bye run against a correct server reports no loss: BYE is
        never acknowledged (PROTOCOL.md sections 2 and 7), so hb-load
        must not wait for its ACK.

        Fails with the current hb-load: it counts every BYE as expecting
        an ACK (W_BYE), so lost == the number of BYEs (see the report)."""
        d = self.hbd().start()
        r = hbtest.load(d, "-n", 10, "-c", 1, "--bye", "--drain", 0.3)
        self.assertEqual(r["sent_bye"], 10)
        self.assertEqual(r["acked"], 10, r)
        self.assertEqual(r["lost"], 0, r)
        self.assertEqual(r["expected"], 10, r)


class HooksTest(HbTestCase):

    def test_down_hook_gets_its_environment(self):
        """A hook on DOWN runs once per host that goes DOWN, with the
        documented HB_* environment; no hook runs for other states."""
        n = 3
        root = os.path.join(self.tmp, "hooks")
        os.mkdir(root)
        script = ("env > %s/tmp.$$ && mv %s/tmp.$$ "
                  "%s/hook.$HB_HOSTNAME.$HB_STATE" % (root, root, root))
        extra = ("hooks:\n  commands:\n"
                 "    - run: [/bin/sh, -c, '%s']\n"
                 "      on: [DOWN]\n"
                 "      timeout: 5s\n" % script)
        d = self.hbd(extra).start()
        r = hbtest.load(d, "-n", n, "-c", 2, "-i", 1, "-r", 2 * n,
                        "--drain", 0.2)
        self.assertEqual(r["lost"], 0, r)
        wait_for("a hook file per host", lambda: len(
            [f for f in os.listdir(root) if f.startswith("hook.")]) == n,
            12)
        files = sorted(f for f in os.listdir(root) if f.startswith("hook."))
        self.assertEqual(files, ["hook.load-%d.DOWN" % i for i in range(n)])
        wait_for("the DOWN events stored", lambda: d.scalar(
            "SELECT count(*) FROM events WHERE to_state = 'DOWN'") == n)
        uuids = dict(d.query("SELECT hostname, uuid FROM hosts"))
        for i in range(n):
            name = "load-%d" % i
            env = {}
            with open(os.path.join(root, "hook.%s.DOWN" % name)) as f:
                for line in f:
                    k, _, v = line.rstrip("\n").partition("=")
                    env[k] = v
            self.assertEqual(env["HB_EVENT"], "state")
            self.assertEqual(env["HB_STATE"], "DOWN")
            self.assertEqual(env["HB_PREV_STATE"], "LATE")
            self.assertEqual(env["HB_HOSTNAME"], name)
            self.assertEqual(env["HB_HOST_UUID"], uuids[name])
            self.assertTrue(env["HB_REASON"].startswith("no heartbeat for"),
                            env["HB_REASON"])
            self.assertRegex(env["HB_ADDRESS"], r"^127\.0\.0\.1:\d+$")
            self.assertEqual(env["HB_LABELS"], "{}")
            self.assertIn("HB_OWNER", env)
            t_ms = int(env["HB_TIME_MS"])
            self.assertEqual(int(env["HB_TIME"]), t_ms // 1000)
            down = d.scalar(
                "SELECT e.time FROM events e JOIN hosts h ON h.id ="
                " e.host_id WHERE h.hostname = ? AND e.to_state = 'DOWN'",
                (name,))
            self.assertEqual(t_ms, down)
        self.assertEqual(d.stop(), 0)
        self.assertNoErrors(d)


if __name__ == "__main__":
    unittest.main()
