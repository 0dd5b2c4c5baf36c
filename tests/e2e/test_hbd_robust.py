"""hbd end to end: bad traffic, crashes and a locked database.

Run: HB_BUILD=build python3 -m unittest -v test_hbd_robust
"""
import re
import signal
import sqlite3
import time
import unittest

import hbtest
from hbtest import HbTestCase, wait_for

# Every stored column of hosts (status_text is computed from status).
HOST_COLS = ("id, uuid, hostname, address, owner, labels, version,"
             " interval_s, state, state_since, first_seen, last_seen, epoch,"
             " seq, status, status_msg, skew_ms, received, lost, boot_start,"
             " boot_id")


def drops(counters):
    return {k: v for k, v in counters.items() if k.startswith("drop_") and v}


class BadTrafficTest(HbTestCase):

    def snapshot(self, d):
        return (d.query("SELECT %s FROM hosts ORDER BY id" % HOST_COLS),
                d.query("SELECT * FROM plugin_latest ORDER BY host_id"),
                d.query("SELECT * FROM plugin_history ORDER BY id"),
                d.query("SELECT * FROM events ORDER BY id"))

    def settled(self, d, n, received):
        """Waits until the last-seen data of n hosts is flushed."""
        wait_for("last-seen data flushed", lambda: d.scalar(
            "SELECT count(*) FROM hosts WHERE received = ?", (received,))
            == n, 10)

    def test_injected_traffic_changes_nothing_and_is_counted(self):
        """Forged, garbage, stale, future and oversized datagrams of known
        hosts are never ACKed, change no stored byte and are all counted
        as drops; so are replays of accepted HTBs."""
        e = int(time.time()) + 10
        d = self.hbd().start()
        r = hbtest.load(d, "-n", 50, "-c", 1, "-r", 500, "--info",
                        "--plg", 300, "--seed", "bad", "--epoch", e)
        self.assertEqual((r["acked"], r["lost"]), (150, 0), r)
        self.settled(d, 50, 3)  # Info PLG, HTB, blob PLG
        wait_for("plugin rows", lambda: d.scalar(
            "SELECT count(*) FROM plugin_latest") == 100)
        before = self.snapshot(d)
        c0 = d.live_counters()
        self.assertEqual(drops(c0), {})

        # Injections only (-c 0): 5 kinds x 50 hosts, a newer epoch so
        # that the replay window is not what stops them.
        r = hbtest.load(d, "-n", 50, "-c", 0, "-r", 1000, "--seed", "bad",
                        "--epoch", e + 1, "--drain", 0.5, "--inject",
                        "garbage,forged,stale,future,oversized")
        self.assertEqual(r["injected"], 250, r)
        self.assertEqual(r["bad_acked"], 0, r)
        self.assertEqual(r["acked"], 0, r)
        self.assertEqual(r["bad_acks"], 0, r)
        c1 = wait_for("250 drops counted", lambda: (
            lambda c: c if sum(drops(c).values()) >= 250 else None)(
                d.live_counters()))
        dr = drops(c1)
        self.assertEqual(sum(dr.values()), 250, dr)
        self.assertEqual(dr.get("drop_skew"), 100, dr)       # stale, future
        self.assertEqual(dr.get("drop_too_big"), 50, dr)     # oversized
        self.assertEqual(c1.get("truncated"), 50, c1)
        self.assertGreaterEqual(dr.get("drop_bad_tag", 0), 50, dr)  # forged
        self.assertEqual(c1.get("acks"), c0.get("acks"))
        self.assertEqual(c1.get("hosts_new", 0), 50)
        # A flush would have run by now; nothing may have changed.
        time.sleep(1.5)  # a flush period (1 s) must pass
        self.assertEqual(self.snapshot(d), before)

        # Replays of accepted HTBs: the run's own HTBs change last_seen,
        # so check only that the replays are dropped, unACKed, and leave
        # received and seq as the genuine traffic set them.
        r = hbtest.load(d, "-n", 50, "-c", 1, "-r", 500, "--seed", "bad",
                        "--epoch", e + 2, "--inject", "replay")
        self.assertEqual(r["injected"], 50, r)
        self.assertEqual(r["bad_acked"], 0, r)
        self.assertEqual((r["acked"], r["lost"]), (50, 0), r)
        wait_for("last-seen data of the third run", lambda: d.scalar(
            "SELECT count(*) FROM hosts WHERE epoch = ?", (e + 2,)) == 50)
        self.assertEqual(d.query(
            "SELECT received, seq, lost, count(*) FROM hosts GROUP BY 1, 2,"
            " 3"), [(4, 1, 0, 50)])  # Info + HTB + PLG, then one HTB
        # Info and blob samples of the first run; the third sends none.
        self.assertEqual(
            d.scalar("SELECT count(*) FROM plugin_history"), 100)
        self.assertEqual(d.stop(), 0)
        c = d.stored_counters()
        self.assertEqual(c["drop_replay"], 50)
        self.assertEqual(c["drop_skew"], 100)
        self.assertEqual(c["drop_too_big"], 50)
        self.assertGreaterEqual(c["drop_bad_tag"], 50)
        self.assertGreater(c["drop_bad_magic"] + c["drop_truncated"], 0)
        self.assertEqual(c["acks"], 200)
        self.assertEqual(c["hosts"], 50)
        self.assertNoErrors(d)

    def test_injections_of_unknown_hosts_create_nothing(self):
        """Every kind of bad traffic, from hosts hbd never heard of: no
        host row, no ACK."""
        d = self.hbd().start()
        r = hbtest.load(d, "-n", 40, "-c", 0, "-r", 1000, "--drain", 0.5,
                        "--inject", "garbage,forged,stale,future,oversized")
        self.assertEqual(r["injected"], 200, r)
        self.assertEqual(r["bad_acked"], 0, r)
        self.assertEqual(r["acked"], 0, r)
        c = wait_for("200 drops counted", lambda: (
            lambda c: c if sum(drops(c).values()) >= 200 else None)(
                d.live_counters()))
        self.assertEqual(sum(drops(c).values()), 200, drops(c))
        self.assertEqual(c.get("hosts_new", 0), 0)
        self.assertEqual(d.stop(), 0)
        self.assertEqual(d.scalar("SELECT count(*) FROM hosts"), 0)
        self.assertEqual(d.scalar("SELECT count(*) FROM events"), 0)
        self.assertNoErrors(d)


class CloneTest(HbTestCase):

    def test_old_epoch_from_elsewhere_is_a_clone(self):
        """Authentic datagrams of known hosts with an older epoch, from
        another address: replays, never ACKed nor stored, and after 3 a
        "clone" event per host."""
        n = 10
        e = int(time.time()) + 10
        d = self.hbd().start()
        r = hbtest.load(d, "-n", n, "-c", 1, "--seed", "clone",
                        "--epoch", e + 1)
        self.assertEqual(r["lost"], 0, r)
        wait_for("seen data", lambda: d.scalar(
            "SELECT count(*) FROM hosts WHERE received = 1") == n)
        before = d.query("SELECT id, address, epoch, seq, last_seen"
                         " FROM hosts ORDER BY id")
        # Another process: another source port. Epoch e < e + 1.
        r = hbtest.load(d, "-n", n, "-c", 3, "-r", 100, "--seed", "clone",
                        "--epoch", e, "--drain", 0.3)
        self.assertEqual(r["acked"], 0, r)
        wait_for("%d clone events" % n, lambda: d.scalar(
            "SELECT count(*) FROM events WHERE kind = 'clone'") == n)
        for (reason,) in d.query("SELECT reason FROM events"
                                 " WHERE kind = 'clone'"):
            self.assertRegex(reason, r"^127\.0\.0\.1:\d+ \(epoch %d\) and "
                             r"127\.0\.0\.1:\d+ \(epoch %d\) both send$"
                             % (e, e + 1))
        time.sleep(1.2)  # a flush period must pass
        self.assertEqual(d.query("SELECT id, address, epoch, seq, last_seen"
                                 " FROM hosts ORDER BY id"), before)
        self.assertEqual(d.stop(), 0)
        self.assertEqual(d.counter("clones"), n)
        self.assertEqual(d.counter("drop_replay"), 3 * n)
        self.assertEqual(d.counter("acks"), n)
        self.assertNoErrors(d)


class CrashTest(HbTestCase):

    def test_kill_9_under_load_then_restart(self):
        """kill -9 while 2000 hosts send; on restart the database is
        intact, no host is lost, and restored hosts get a grace period
        instead of going LATE or DOWN at once."""
        e = int(time.time()) + 10
        d = self.hbd().start()
        p = self.start_load(d, "-n", 2000, "-d", 5, "-r", 5000,
                            "--seed", "crash", "--epoch", e)
        wait_for("hosts in the database",
                 lambda: d.scalar("SELECT count(*) FROM hosts") > 0, 10)
        time.sleep(1.0)  # about a second of traffic must pass
        seen = d.scalar("SELECT count(*) FROM hosts")
        d.proc.send_signal(signal.SIGKILL)
        self.assertEqual(d.proc.wait(10), -signal.SIGKILL)
        d.log_file.close()
        p.terminate()
        hbtest.finish_load(p)

        since = d.log_size()
        d.start()
        self.assertEqual(d.scalar("PRAGMA integrity_check"), "ok")
        self.assertEqual(d.scalar("PRAGMA foreign_key_check"), None)
        n = d.scalar("SELECT count(*) FROM hosts")
        self.assertGreaterEqual(n, seen)
        self.assertIn("%d hosts loaded" % n, d.log()[since:])
        self.assertEqual(d.scalar(
            "SELECT count(*) FROM hosts WHERE state IN ('LATE', 'DOWN')"), 0)
        # Several state ticks (100 ms) must pass: still nobody LATE.
        time.sleep(1.5)
        self.assertNotIn(" -> LATE", d.log()[since:])
        self.assertNotIn(" -> DOWN", d.log()[since:])
        self.assertEqual(d.scalar(
            "SELECT count(*) FROM hosts WHERE state IN ('LATE', 'DOWN')"), 0)
        # The same hosts, a new epoch: known, not added again.
        r = hbtest.load(d, "-n", 2000, "-c", 1, "-r", 4000,
                        "--seed", "crash", "--epoch", e + 1)
        self.assertEqual(r["lost"], 0, r)
        self.assertEqual(d.stop(), 0)
        self.assertEqual(d.scalar("SELECT count(*) FROM hosts"), 2000)
        self.assertEqual(d.counter("hosts_new"), 2000 - n)
        self.assertEqual(d.scalar("PRAGMA integrity_check"), "ok")
        self.assertNoErrors(d)


class LockedDatabaseTest(HbTestCase):

    def test_database_locked_for_seconds(self):
        """Another process holds the database's write lock for 4 s while
        200 hosts send heartbeats and plugin data: hbd keeps ACKing,
        holds the writes, complains, and writes everything afterwards."""
        d = self.hbd().start()
        con = sqlite3.connect(d.db, timeout=0, isolation_level=None)
        try:
            con.execute("BEGIN EXCLUSIVE")
            t0 = time.monotonic()
            r = hbtest.load(d, "-n", 200, "-c", 3, "--plg", 500, "-r", 600)
            left = 4.0 - (time.monotonic() - t0)
            self.assertGreater(left, 0, "hb-load took over 4 s: the lock"
                               " did not cover the whole run")
            time.sleep(left)  # the lock is held 4 s in all
            self.assertEqual(d.scalar("SELECT count(*) FROM hosts"), 0)
        finally:
            con.execute("ROLLBACK")
            con.close()
        self.assertEqual(r["lost"], 0, r)
        self.assertEqual(r["acked"], 1200, r)
        wait_for("600 plugin history rows", lambda: d.scalar(
            "SELECT count(*) FROM plugin_history") == 600, 20)
        wait_for("200 hosts", lambda: d.scalar(
            "SELECT count(*) FROM hosts") == 200, 10)
        self.assertEqual(d.scalar("SELECT count(*) FROM plugin_latest"), 200)
        wait_for("last-seen data flushed", lambda: d.scalar(
            "SELECT count(*) FROM hosts WHERE received = 6 AND seq = 6")
            == 200, 10)
        d.wait_log("database writes succeed again")
        log = d.log()
        self.assertIn("database writes failing", log)
        self.assertLess(log.index("database writes failing"),
                        log.index("database writes succeed again"))
        self.assertEqual(d.stop(), 0)
        self.assertEqual(d.counter("store_dropped"), 0)
        self.assertEqual(d.scalar("PRAGMA integrity_check"), "ok")
        self.assertNoErrors(d, allowed=("database writes",))



class BacklogOverflowTest(HbTestCase):
    """store.backlog at its minimum (1 MiB) and the database locked: what
    does not fit is dropped and counted, never silently."""

    def overflow(self, d):
        """Fills the backlog of d, whose database is locked: 100 hosts'
        20 KB plugin samples (2 MB), then 500 new hosts' small writes to
        use up what room the big ones left. Returns store_dropped."""
        r = hbtest.load(d, "-n", 100, "-c", 1, "-i", 60, "--plg", 20000,
                        "-r", 1000, "--drain", 0.1)
        self.assertEqual(r["lost"], 0, r)
        r = hbtest.load(d, "-n", 500, "-c", 1, "-i", 60, "-r", 2000,
                        "--drain", 0.1)
        self.assertEqual(r["lost"], 0, r)
        dropped = d.live_counters().get("store_dropped", 0)
        self.assertGreater(dropped, 0, "the backlog did not overflow")
        return dropped

    def test_overflow_counted_and_store_recovers(self):
        d = self.hbd("store: {backlog: 1MiB}\n").start()
        con = sqlite3.connect(d.db, timeout=0, isolation_level=None)
        try:
            con.execute("BEGIN EXCLUSIVE")
            self.overflow(d)
            d.wait_log("write backlog full")
        finally:
            con.execute("ROLLBACK")
            con.close()
        d.wait_log("database writes succeed again")
        # Writes flow again: new hosts are stored, with their data.
        r = hbtest.load(d, "-n", 50, "-c", 1, "--plg", 200, "-r", 500,
                        "--seed", "after")
        self.assertEqual(r["lost"], 0, r)
        wait_for("the new hosts' samples", lambda: d.scalar(
            "SELECT count(*) FROM plugin_history WHERE length(data) < 1000")
            == 50, 10)
        self.assertEqual(d.stop(), 0)
        self.assertGreater(d.counter("store_dropped"), 0)
        self.assertEqual(d.counter("hosts"), 650)
        self.assertEqual(d.scalar("PRAGMA integrity_check"), "ok")
        self.assertNoErrors(d, allowed=("database writes",))

    def test_state_change_dropped_in_overflow_is_not_lost(self):
        """20 hosts go LATE and DOWN while the backlog is full, so those
        events are dropped (and counted). Once the store recovers, the
        hosts table must still come to show what hbd knows: DOWN.

        Fails today: hosts.state is only written with a state event, so
        the table shows the 20 hosts UP for as long as hbd runs (and
        after it stops), while hbd has them DOWN (see the report)."""
        d = self.hbd("store: {backlog: 1MiB}\n").start()
        r = hbtest.load(d, "-n", 20, "-c", 1, "-i", 1, "--drain", 0.1,
                        "--seed", "victims")
        self.assertEqual(r["lost"], 0, r)
        wait_for("20 hosts UP", lambda: d.scalar(
            "SELECT count(*) FROM hosts WHERE state = 'UP'") == 20)
        con = sqlite3.connect(d.db, timeout=0, isolation_level=None)
        try:
            con.execute("BEGIN EXCLUSIVE")
            before = self.overflow(d)
            # 20 UP, 600 new hosts UP, then 20 LATE and 20 DOWN (the
            # log caps such lines: count them by the counter).
            wait_for("hbd to declare 20 hosts DOWN", lambda:
                     d.live_counters().get("transitions", 0) == 660, 10)
            after = d.live_counters().get("store_dropped", 0)
            self.assertGreaterEqual(after - before, 40,
                                    "the 40 transitions were not dropped")
        finally:
            con.execute("ROLLBACK")
            con.close()
        d.wait_log("database writes succeed again")
        wait_for("the hosts table to show the 20 hosts DOWN", lambda:
                 d.scalar("SELECT count(*) FROM hosts WHERE interval_s = 1"
                          " AND state = 'DOWN'") == 20, 10)
        self.assertEqual(d.stop(), 0)


if __name__ == "__main__":
    unittest.main()
