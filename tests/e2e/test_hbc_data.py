"""hbc end to end: plugin data from a real hbc reaches a real hbd.

Each test starts hbd, then hbc with a plugin directory of symlinks to the
built plugins (os.so, load.so) and a 1 s heartbeat, and checks what hbd
stored. Run: HB_BUILD=build python3 -m unittest -v test_hbc_data
"""
import json
import os
import re
import shutil
import time
import unittest

import hbtest
from hbtest import HbTestCase, wait_for


def boot_id():
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            return f.read().strip()
    except OSError:
        return None


def now_ms():
    return int(time.time() * 1000)


class DataTest(HbTestCase):

    def host_row(self, d, uuid):
        rows = d.query("SELECT id, hostname, owner, labels, version,"
                       " interval_s, state, boot_id, status FROM hosts"
                       " WHERE uuid = ?", (uuid,))
        return rows[0] if rows else None

    def latest(self, d, plugin):
        rows = d.query("SELECT kind, status, interval_s, data, time,"
                       " received FROM plugin_latest WHERE plugin = ?",
                       (plugin,))
        return rows[0] if rows else None

    def history(self, d, plugin):
        return d.scalar("SELECT count(*) FROM plugin_history"
                        " WHERE plugin = ?", (plugin,))

    def test_info_and_monitor_data_arrive(self):
        """The host row carries what hbc.yaml and the system say; os
        arrives as Info, load as Monitor with its configured interval,
        and load's history grows."""
        d = self.hbd().start()
        c = self.hbc(d, ["os", "load"], owner="ops",
                     labels={"env": "test", "role": "web"},
                     sections={"load": {"interval": "2s", "warning": 1000,
                                        "critical": 2000}})
        c.start()
        uuid = c.host_id()
        wait_for("the host UP", lambda: (self.host_row(d, uuid) or
                                         [None] * 7)[6] == "UP")
        hid, hostname, owner, labels, version, interval_s, state, bid, \
            _ = self.host_row(d, uuid)
        self.assertEqual(hostname, c.hostname)
        self.assertEqual(owner, "ops")
        self.assertEqual(json.loads(labels), {"env": "test", "role": "web"})
        want_version = hbtest.run_hbc("-V").stdout.split()[-1]
        self.assertEqual(version, want_version)
        self.assertEqual(interval_s, 1)
        if boot_id():
            self.assertEqual(bid, boot_id())

        wait_for("os and load in plugin_latest", lambda: d.scalar(
            "SELECT count(*) FROM plugin_latest WHERE host_id = ?"
            " AND plugin IN ('os', 'load')", (hid,)) == 2)
        kind, status, interval, data, _, _ = self.latest(d, "os")
        self.assertEqual((kind, status, interval), ("info", 0, 0))
        self.assertEqual(d.scalar(
            "SELECT json_extract(data, '$.uname.sysname') FROM"
            " plugin_latest WHERE plugin = 'os'"), "Linux")
        kind, status, interval, data, _, _ = self.latest(d, "load")
        self.assertEqual((kind, status, interval), ("monitor", 0, 2))
        self.assertIn("load1", json.loads(data))

        # History grows: new samples, 2 s apart.
        first = self.history(d, "load")
        wait_for("two more load samples", lambda: self.history(
            d, "load") >= first + 2, 10)
        times = [t for (t,) in d.query(
            "SELECT time FROM plugin_history WHERE plugin = 'load'"
            " ORDER BY time")]
        gaps = [b - a for a, b in zip(times, times[1:])]
        self.assertTrue(all(1500 <= g <= 2600 for g in gaps), gaps)
        self.assertEqual(self.history(d, "os"), 1)
        self.assertEqual(d.scalar("SELECT lost FROM hosts WHERE id = ?",
                                  (hid,)), 0)

        self.assertEqual(c.stop(), 0)
        wait_for("the host STOPPED", lambda: self.host_row(
            d, uuid)[6] == "STOPPED")
        self.assertEqual(d.stop(), 0)
        self.assertNoErrors(d)
        self.assertNoErrors(c)

    def test_info_sent_again_when_the_server_lost_it(self):
        """hbd restarted on an empty database asks for the Info data
        (request_update) and gets it, hbc running all along."""
        port = hbtest.free_port()
        d = self.hbd(port=port).start()
        self.assertEqual(d.port, port)
        c = self.hbc(d, ["os", "load"]).start()
        wait_for("os stored", lambda: self.latest(d, "os"), 10)
        self.assertEqual(d.stop(), 0)
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(d.db + suffix):
                os.unlink(d.db + suffix)
        since = c.log_size()
        d.start()
        self.assertEqual(d.port, port)
        wait_for("os stored again", lambda: os.path.exists(d.db) and
                 self.latest(d, "os"), 15)
        self.assertEqual(d.scalar(
            "SELECT json_extract(data, '$.uname.sysname') FROM"
            " plugin_latest WHERE plugin = 'os'"), "Linux")
        self.assertEqual(d.scalar("SELECT hostname FROM hosts WHERE"
                                  " uuid = ?", (c.host_id(),)), c.hostname)
        c.wait_log("server asks for all Info data", since)
        self.assertTrue(c.alive())
        self.assertGreaterEqual(d.live_counters().get("request_update", 0),
                                1)
        self.assertEqual(c.stop(), 0)
        self.assertEqual(d.stop(), 0)
        self.assertNoErrors(d)
        self.assertNoErrors(c)

    def test_samples_of_an_outage_arrive_after_it(self):
        """Monitor samples collected while hbd was down are spooled and
        delivered once it is back (same port, same database)."""
        port = hbtest.free_port()
        d = self.hbd(port=port).start()
        c = self.hbc(d, ["load"],
                     sections={"load": {"interval": "1s"}}).start()
        wait_for("load samples", lambda: self.history(d, "load") >= 2, 10)
        self.assertEqual(d.stop(), 0)
        down_from = now_ms()
        time.sleep(5)  # the outage: samples must be collected meanwhile
        down_to = now_ms()
        d.start()
        self.assertEqual(d.port, port)

        def in_outage():
            return d.scalar("SELECT count(*) FROM plugin_history WHERE"
                            " plugin = 'load' AND time > ? AND time < ?",
                            (down_from, down_to))
        # About 5 samples at 1 s; allow for the edges.
        wait_for("the outage's samples", lambda: in_outage() >= 4, 15)
        self.assertLessEqual(in_outage(), 6)
        self.assertTrue(c.alive())
        # Delivered after the outage, not dropped.
        self.assertNotIn("spool full", c.log())
        self.assertEqual(c.stop(), 0)
        stats = re.findall(r"counters: .*", c.log())[-1]
        self.assertIn(" spool_dropped=0 ", stats)
        self.assertEqual(d.stop(), 0)
        self.assertNoErrors(d)
        self.assertNoErrors(c)

    def test_spool_keeps_the_newest_when_full(self):
        """With a 64 KiB spool and 20 KB samples, an outage keeps only
        the newest samples: the oldest are dropped, counted and logged."""
        port = hbtest.free_port()
        d = self.hbd(port=port).start()
        c = self.hbc(d, ["fx_script"], spool="64KiB",
                     sections={"fx_script": {
                         "interval": "1s", "ops": ["fill blob 20000"]}})
        c.start()
        wait_for("samples", lambda: self.history(d, "fx_script") >= 2, 10)
        self.assertEqual(d.stop(), 0)
        down_from = now_ms()
        time.sleep(6)  # the outage: six samples, room for three
        down_to = now_ms()
        d.start()

        def kept():
            return [t for (t,) in d.query(
                "SELECT time FROM plugin_history WHERE plugin ="
                " 'fx_script' AND time > ? AND time < ? ORDER BY time",
                (down_from, down_to))]
        wait_for("the newest samples", lambda: kept() and
                 kept()[-1] > down_to - 1500, 15)
        self.assertLessEqual(len(kept()), 3, kept())
        self.assertGreater(kept()[0], down_from + 2000, kept())
        self.assertIn("spool full (65536 bytes): dropped the oldest plugin"
                      " data", c.log())
        self.assertEqual(c.stop(), 0)
        stats = re.findall(r"counters: .*", c.log())[-1]
        dropped = int(re.search(r" spool_dropped=(\d+)", stats).group(1))
        self.assertGreaterEqual(dropped, 2, stats)
        self.assertEqual(d.stop(), 0)
        self.assertNoErrors(d)
        self.assertNoErrors(c)

    def test_failover_and_back(self):
        """servers [A, B], failover_after 2: A stops, hbc moves to B
        (which gets the Info data and the spooled samples); A comes back
        and hbc returns to it. Every load sample lands on A or B."""
        port = hbtest.free_port()
        a = self.hbd(port=port).start()
        b = self.hbd()
        shutil.copy(a.key, b.key)
        b.start()
        c = self.hbc(a, ["os", "load"], failover_after=2,
                     servers=["127.0.0.1:%d" % port,
                              "127.0.0.1:%d" % b.port],
                     sections={"load": {"interval": "1s"}}).start()
        uuid = c.host_id()
        wait_for("os and load at A", lambda: self.latest(a, "os") and
                 self.history(a, "load") >= 2)
        since = c.log_size()
        self.assertEqual(a.stop(), 0)
        a_stopped = now_ms()
        c.wait_log("now sending to 127.0.0.1:%d" % b.port, since, 10)
        wait_for("UP at B with os", lambda: b.scalar(
            "SELECT state FROM hosts WHERE uuid = ?", (uuid,)) == "UP" and
            self.latest(b, "os"), 10)
        wait_for("load at B", lambda: self.history(b, "load") >= 2)
        since = c.log_size()
        a.start()
        c.wait_log("first server answers again: now sending to"
                   " 127.0.0.1:%d" % port, since, 15)
        back = now_ms()
        wait_for("load at A again", lambda: a.scalar(
            "SELECT count(*) FROM plugin_history WHERE plugin = 'load'"
            " AND time > ?", (back,)) >= 2, 10)
        self.assertEqual(c.stop(), 0)
        wait_for("STOPPED at A", lambda: a.scalar(
            "SELECT state FROM hosts WHERE uuid = ?", (uuid,)) ==
            "STOPPED")
        self.assertEqual(a.stop(), 0)
        self.assertEqual(b.stop(), 0)
        times = sorted({t for d in (a, b) for (t,) in d.query(
            "SELECT time FROM plugin_history WHERE plugin = 'load'")})
        gaps = [(x, y - x) for x, y in zip(times, times[1:])
                if y - x > 1500]
        self.assertEqual(gaps, [], "load samples missing after %d"
                         % a_stopped)
        self.assertNoErrors(a)
        self.assertNoErrors(b)
        self.assertNoErrors(c)

    def test_data_waits_for_a_server_that_starts_late(self):
        """hbc started before hbd: heartbeats go unanswered, plugin data
        waits in the spool and all of it arrives once hbd is up."""
        port = hbtest.free_port()
        d = self.hbd(port=port)
        c = self.hbc(d, ["os", "load"],
                     sections={"load": {"interval": "1s"}}).start()
        started = now_ms()
        c.wait_log("127.0.0.1:%d: 3 heartbeats unanswered" % port,
                   timeout=10)
        d.start()
        up = now_ms()
        wait_for("os stored", lambda: self.latest(d, "os"), 10)
        self.assertLess(self.latest(d, "os")[4], up)  # collected before
        wait_for("the samples collected before hbd started", lambda:
                 d.scalar("SELECT count(*) FROM plugin_history WHERE"
                          " plugin = 'load' AND time < ?", (up,)) >= 3, 10)
        self.assertGreaterEqual(d.scalar(
            "SELECT min(time) FROM plugin_history WHERE plugin = 'load'"),
            started - 1000)
        c.wait_log("answers again")
        self.assertEqual(c.stop(), 0)
        self.assertEqual(d.stop(), 0)
        self.assertNoErrors(d)
        self.assertNoErrors(c)


if __name__ == "__main__":
    unittest.main()
