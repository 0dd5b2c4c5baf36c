"""hbd end to end: what hosts send lands in the database.

Each test starts its own hbd on 127.0.0.1 (port 0) with a fresh database,
drives it with hb-load and checks the database read-only, the daemon's
log and its exit status.
Run: HB_BUILD=build python3 -m unittest -v test_hbd_ingest
"""
import json
import sqlite3
import time
import re
import unittest

import hbtest
from hbtest import HbTestCase, wait_for

ABC = "abcdefghijklmnopqrstuvwxyz0123456789"  # hb-load's blob pattern


def epoch_base():
    """An epoch above any default one hb-load took before this test."""
    return int(time.time()) + 10


class IngestTest(HbTestCase):

    def test_thousands_of_hosts_all_land(self):
        """3000 hosts x 2 HTBs: every HTB ACKed, every host stored UP."""
        d = self.hbd().start()
        r = hbtest.load(d, "-n", 3000, "-c", 2, "-r", 3000)
        self.assertEqual(r["sent_htb"], 6000)
        self.assertEqual(r["send_errors"], 0)
        self.assertEqual(r["lost"], 0, r)
        self.assertEqual(r["acked"], 6000, r)
        self.assertEqual(r["bad_acks"], 0)
        self.assertEqual(r["unmatched"], 0)
        wait_for("3000 hosts stored",
                 lambda: d.scalar("SELECT count(*) FROM hosts") == 3000, 15)
        rows = d.query("SELECT state, count(*) FROM hosts GROUP BY state")
        self.assertEqual(rows, [("UP", 3000)])
        self.assertEqual(d.scalar("SELECT count(*) FROM hosts WHERE"
                                  " hostname NOT LIKE 'load-%'"), 0)
        names = {n for (n,) in d.query("SELECT hostname FROM hosts")}
        self.assertEqual(names, {"load-%d" % i for i in range(3000)})
        self.assertEqual(d.scalar("SELECT count(DISTINCT uuid) FROM hosts"),
                         3000)
        # The last-seen flush catches up with the second round.
        wait_for("received = 2 for every host", lambda: d.scalar(
            "SELECT count(*) FROM hosts WHERE received = 2 AND seq = 2"
            " AND lost = 0") == 3000, 15)
        self.assertEqual(d.stop(), 0)
        self.assertIn("stopped", d.log())
        c = d.stored_counters()
        self.assertEqual(c["rx_htb"], 6000)
        self.assertEqual(c["acks"], 6000)
        self.assertEqual(c["hosts_new"], 3000)
        self.assertEqual(c["store_dropped"], 0)
        self.assertEqual(sum(v for k, v in c.items()
                             if k.startswith("drop_")), 0)
        self.assertNoErrors(d)
        # 3000 state changes in about a second: the log caps per-host
        # lines at 20 a second and sums up the rest, which the events
        # table holds in full.
        log = d.log()
        lines = len(re.findall(r"\) STOPPED -> UP: ", log))
        held = sum(int(n) for n in re.findall(
            r"(\d+) more state changes not logged", log))
        self.assertLess(lines, 3000)
        self.assertGreater(held, 0)
        self.assertEqual(lines + held, 3000)
        self.assertEqual(d.scalar("SELECT count(*) FROM events WHERE"
                                  " to_state = 'UP'"), 3000)

    def test_info_stored_then_not_requested_again(self):
        """--info stores an "os" Info row per host; a later run of the
        same hosts without --info is not asked to send it again."""
        e = epoch_base()
        d = self.hbd().start()
        r = hbtest.load(d, "-n", 100, "-c", 1, "-r", 500, "--info",
                        "--seed", "info", "--epoch", e)
        self.assertEqual(r["lost"], 0, r)
        self.assertEqual(r["acked"], 200, r)  # 100 Info PLGs + 100 HTBs
        self.assertEqual(r["request_update"], 0, r)
        wait_for("100 Info rows", lambda: d.scalar(
            "SELECT count(*) FROM plugin_latest WHERE plugin = 'os'") == 100)
        rows = d.query(
            "SELECT h.hostname, p.kind, json_valid(p.data),"
            " json_extract(p.data, '$.sysname'),"
            " json_extract(p.data, '$.machine'), length(p.digest)"
            " FROM plugin_latest p JOIN hosts h ON h.id = p.host_id")
        self.assertEqual(len(rows), 100)
        self.assertEqual({r[0] for r in rows},
                         {"load-%d" % i for i in range(100)})
        for row in rows:
            self.assertEqual(row[1:], ("info", 1, "Linux", "x86_64", 16),
                             row)
        # The same hosts again, a new epoch, no Info: nothing requested.
        r2 = hbtest.load(d, "-n", 100, "-c", 2, "-r", 500, "--seed", "info",
                         "--epoch", e + 1)
        self.assertEqual(r2["lost"], 0, r2)
        self.assertEqual(r2["acked"], 200, r2)
        self.assertEqual(r2["request_update"], 0, r2)
        self.assertEqual(d.scalar("SELECT count(*) FROM hosts"), 100)
        self.assertEqual(d.stop(), 0)
        self.assertNoErrors(d)

    def test_fresh_server_requests_info(self):
        """The run without --info against a server that never got the
        hosts' Info: every HTB's ACK carries request_update.

        Fails with the current hb-load: without --info its HTBs carry no
        info_digest at all, so no server can ever request an update (see
        the report: hb-load bug)."""
        e = epoch_base()
        d = self.hbd().start()
        r = hbtest.load(d, "-n", 100, "-c", 2, "-r", 500, "--seed", "info",
                        "--epoch", e + 1)
        self.assertEqual(r["lost"], 0, r)
        self.assertEqual(r["request_update"], r["sent_htb"], r)

    def test_info_digest_survives_restart(self):
        """Info digests are loaded back at start: after a restart, HTBs
        whose Info the database holds are not asked for it; once the
        Info rows are gone (deleted while hbd was down), every HTB is.

        Works with today's hb-load: the --info run's Info PLG (seq 1)
        reaches hbd only in the first run; in the second, same epoch, it
        is a replay and dropped, so only the stored Info can match the
        HTB's digest."""
        e = epoch_base()
        d = self.hbd().start()
        r = hbtest.load(d, "-n", 50, "-c", 0, "--info", "--seed", "dig",
                        "--epoch", e)
        self.assertEqual((r["sent_htb"], r["acked"], r["lost"]), (0, 50, 0))
        wait_for("50 Info rows", lambda: d.scalar(
            "SELECT count(*) FROM plugin_latest WHERE kind = 'info'") == 50)
        self.assertEqual(d.stop(), 0)

        d.start()
        self.assertIn("50 hosts loaded", d.log())
        r = hbtest.load(d, "-n", 50, "-c", 1, "-r", 500, "--info",
                        "--seed", "dig", "--epoch", e)
        # Info PLGs: replays of seq 1, dropped; HTBs (seq 2) ACKed.
        self.assertEqual(r["acked"], 50, r)
        self.assertEqual(r["request_update"], 0, r)
        self.assertEqual(d.stop(), 0)
        self.assertEqual(d.counter("drop_replay"), 50)

        # An operator deletes the Info rows while hbd is down.
        con = sqlite3.connect(d.db, timeout=5)
        with con:
            con.execute("DELETE FROM plugin_latest")
        con.close()
        d.start()
        r = hbtest.load(d, "-n", 50, "-c", 2, "-r", 500, "--info",
                        "--seed", "dig", "--epoch", e)
        # Seqs 1 (Info PLG) and 2 (HTB) are replays now; the HTBs of
        # seq 3 are accepted, and the server has no Info for them.
        self.assertEqual(r["acked"], 50, r)
        self.assertEqual(r["request_update"], 50, r)
        self.assertEqual(d.stop(), 0)
        self.assertEqual(d.counter("request_update"), 50)
        self.assertEqual(d.counter("drop_replay"), 100)
        self.assertNoErrors(d)

    def test_new_epoch_is_a_client_restart(self):
        """The same hosts with a new epoch and start_time: one "restart"
        event each, also when their first datagram is an Info PLG."""
        for extra in ([], ["--info"], ["--plg", 200]):
            with self.subTest(extra=extra):
                e = epoch_base()
                d = self.hbd().start()
                for k in range(2):
                    r = hbtest.load(d, "-n", 10, "-c", 1, "--seed", "rs",
                                    "--epoch", e + k, *extra)
                    self.assertEqual(r["lost"], 0, r)
                wait_for("10 restart events", lambda: d.scalar(
                    "SELECT count(*) FROM events WHERE kind = 'restart'"
                    " AND reason = 'client restarted, same boot'") == 10)
                self.assertEqual(d.scalar(
                    "SELECT count(DISTINCT host_id) FROM events"
                    " WHERE kind = 'restart'"), 10)
                self.assertEqual(d.stop(), 0)
                self.assertEqual(d.counter("restarts"), 10)
                self.assertEqual(d.counter("reboots"), 0)
                self.assertNoErrors(d)

    def test_restart_while_hbd_was_down(self):
        """hbd loads each host's start time, boot id and counts back: a
        client that restarted while hbd was stopped is a "restart" event,
        and the row's received count keeps growing across hbd's restart."""
        e = epoch_base()
        d = self.hbd().start()
        r = hbtest.load(d, "-n", 10, "-c", 3, "--seed", "down",
                        "--epoch", e)
        self.assertEqual(r["lost"], 0, r)
        self.assertEqual(d.stop(), 0)
        self.assertEqual(d.scalar("SELECT count(*) FROM hosts WHERE"
                                  " received = 3 AND boot_start = ?", (e,)),
                         10)
        d.start()
        r = hbtest.load(d, "-n", 10, "-c", 1, "--seed", "down",
                        "--epoch", e + 1)
        self.assertEqual(r["lost"], 0, r)
        wait_for("10 restart events", lambda: d.scalar(
            "SELECT count(*) FROM events WHERE kind = 'restart'") == 10)
        wait_for("the counts carried on", lambda: d.scalar(
            "SELECT count(*) FROM hosts WHERE received = 4") == 10)
        self.assertEqual(d.stop(), 0)
        self.assertEqual(d.counter("restarts"), 10)
        self.assertNoErrors(d)

    def test_fragmented_plugin_data(self):
        """--plg 3000: 3-fragment Monitor PLGs reassembled and stored,
        latest and history, and each message ACKed once."""
        d = self.hbd().start()
        r = hbtest.load(d, "-n", 50, "-c", 2, "-r", 200, "--plg", 3000)
        self.assertEqual(r["sent_htb"], 100)
        self.assertGreater(r["sent_plg"], 100)  # fragments: several each
        self.assertEqual(r["sent_plg"] % 100, 0)
        self.assertEqual(r["expected"], 200)  # HTBs and whole PLGs
        self.assertEqual(r["acked"], r["expected"], r)
        self.assertEqual(r["lost"], 0)
        wait_for("100 history rows", lambda: d.scalar(
            "SELECT count(*) FROM plugin_history") == 100, 15)
        wait_for("50 latest rows", lambda: d.scalar(
            "SELECT count(*) FROM plugin_latest") == 50)
        rows = d.query("SELECT plugin, kind, interval_s, data"
                       " FROM plugin_latest")
        for plugin, kind, interval, data in rows:
            self.assertEqual((plugin, kind, interval), ("blob", "monitor",
                                                        10))
            blob = json.loads(data)["blob"]
            self.assertGreaterEqual(len(blob), 2992)
            self.assertEqual(blob, (ABC * (len(blob) // len(ABC) + 1))
                             [:len(blob)])
        # Two samples per host, two distinct times, the same blob.
        self.assertEqual(d.query(
            "SELECT count(DISTINCT host_id), count(DISTINCT time),"
            " count(DISTINCT data) FROM plugin_history")[0][0::2], (50, 1))
        self.assertEqual(d.scalar(
            "SELECT count(*) FROM (SELECT host_id FROM plugin_history"
            " GROUP BY host_id HAVING count(DISTINCT time) = 2)"), 50)
        # The newest sample is the latest one.
        self.assertEqual(d.scalar(
            "SELECT count(*) FROM plugin_latest l WHERE l.time ="
            " (SELECT max(time) FROM plugin_history h"
            "  WHERE h.host_id = l.host_id AND h.plugin = l.plugin)"), 50)
        self.assertEqual(d.stop(), 0)
        self.assertEqual(d.counter("rx_fragments"), r["sent_plg"])
        self.assertEqual(d.counter("rx_plg"), 100)
        self.assertEqual(d.counter("acks"), 200)
        self.assertNoErrors(d)


if __name__ == "__main__":
    unittest.main()
