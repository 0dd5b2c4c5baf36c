"""hb-query end to end: the operator's CLI reading a database that a real
hbd fills, from real clients (two hbc processes with the os and load
plugins) and simulated ones (hb-load): tables, filters, JSON and CSV
checked against the database, the detail of one host, plugin fields,
events, counters, errors (exit status 2 and one line), help, colour,
and reading while hbd writes under load.

Run: HB_BUILD=build python3 -m unittest -v test_query
"""
import csv
import io
import json
import os
import pty
import re
import shutil
import sqlite3
import subprocess
import tempfile
import time
import unittest

import hbtest
from hbtest import HbTestCase, wait_for

QUERY = os.path.join(hbtest.BUILD, "tools", "hb-query")
HBC = os.path.join(hbtest.BUILD, "hbc", "hbc")
PLUGINS = os.path.join(hbtest.BUILD, "plugins")
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
SPAN = r"^%s (\d+[dhm])?\d+[hms]$"  # "UP 4s", "DOWN 2m5s"


def env_without(*names, **extra):
    env = {k: v for k, v in os.environ.items() if k not in names}
    env.update(extra)
    return env


def query(db, *args, env=None, binary=False, timeout=30):
    """hb-query --db db args...: a CompletedProcess (text unless binary)."""
    cmd = [QUERY] + (["--db", db] if db else []) + [str(a) for a in args]
    return subprocess.run(cmd, capture_output=True, text=not binary,
                          timeout=timeout,
                          env=env or env_without("HB_DB", "NO_COLOR"))


def read(path):
    """The file's text, stripped; None while it does not exist."""
    try:
        with open(path) as f:
            return f.read().strip()
    except FileNotFoundError:
        return None


def iso(ms):
    """What hb-query prints for Unix ms in JSON and CSV."""
    t = time.gmtime(ms // 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", t) + ".%03dZ" % (ms % 1000)


def table(text):
    """An aligned table: (header cells, rows of cells); cells are apart
    by two spaces or more."""
    lines = text.rstrip("\n").split("\n")
    split = [re.split(r" {2,}", l.strip()) for l in lines]
    return split[0], split[1:]


def hbc_conf(fleet, name, owner, labels, load):
    """hbc's configuration: os, and load reading the line load."""
    state = os.path.join(fleet.tmp, "client-" + name)
    loadavg = os.path.join(fleet.tmp, name + ".loadavg")
    with open(loadavg, "w") as f:
        f.write(load + "\n")
    conf = os.path.join(fleet.tmp, name + ".yaml")
    with open(conf, "w") as f:
        f.write('servers: ["127.0.0.1:%d"]\n' % fleet.hbd.port)
        f.write("interval: 1s\n")
        f.write("state_dir: %s\n" % state)
        f.write("hostname: %s\nowner: %s\n" % (name, owner))
        f.write("labels: %s\n" % json.dumps(labels))
        f.write("security: sign\nkey_file: %s\n" % fleet.hbd.key)
        f.write("plugin_dir: %s\n" % PLUGINS)
        f.write("plugins:\n  load: {interval: 1s, warning: 2, critical: 4,"
                " loadavg: %s}\n" % loadavg)
    return conf, state


class Fleet:
    """One hbd and hosts in every lasting state: web-1 and db-1 (real
    hbc, UP, os and load data; db-1's load is CRITICAL), load-0..2
    (hb-load, DOWN) and a second load-0 (hb-load, said BYE: STOPPED)."""

    WEB_LOAD = "0.50 0.40 0.30 1/200 4242"
    DB_LOAD = "900.00 500.00 300.00 2/300 4343"

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="hb-query-")
        self.procs = []
        self.hbd = hbtest.Hbd(self.tmp).start()
        self.uuids = {}
        for name, owner, labels, load in (
                ("web-1", "ops", {"env": "prod", "role": "web"},
                 self.WEB_LOAD),
                ("db-1", "dba", {"env": "dev", "role": "db"},
                 self.DB_LOAD)):
            self.start_hbc(name, owner, labels, load)
        hbtest.load(self.hbd, "-n", 3, "-c", 2, "-i", 1, "--info",
                    "--seed", "query-a")
        hbtest.load(self.hbd, "-n", 1, "-c", 1, "-i", 60, "--bye",
                    "--seed", "query-b")
        wait_for("the fleet in its states", self.ready, 30, 0.2)

    def start_hbc(self, name, owner, labels, load):
        conf, state = hbc_conf(self, name, owner, labels, load)
        log = open(os.path.join(self.tmp, name + ".log"), "wb")
        self.procs.append((subprocess.Popen(
            [HBC, "-f", "-c", conf], stdout=log, stderr=subprocess.STDOUT),
            log))
        idfile = os.path.join(state, "host-id")
        self.uuids[name] = wait_for("hbc %s's host id" % name,
                                    lambda: read(idfile), 10)

    def ready(self):
        states = self.hbd.query(
            "SELECT state, count(*) FROM hosts GROUP BY state")
        samples = self.hbd.scalar(
            "SELECT min(n) FROM (SELECT count(*) AS n FROM plugin_history"
            " WHERE plugin = 'load' GROUP BY host_id)")
        infos = self.hbd.scalar(
            "SELECT count(*) FROM plugin_latest WHERE plugin = 'os'")
        critical = self.hbd.scalar(
            "SELECT count(*) FROM hosts WHERE hostname = 'db-1' AND"
            " status = 2")
        return (dict(states) == {"UP": 2, "DOWN": 3, "STOPPED": 1}
                and (samples or 0) >= 3 and infos == 5 and critical)

    def close(self):
        for p, log in self.procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(10)
            log.close()
        if self.hbd.proc and self.hbd.proc.poll() is None:
            self.hbd.kill()
        shutil.rmtree(self.tmp, ignore_errors=True)


class FleetTest(unittest.TestCase):
    """Read-only checks against one shared, running fleet."""

    @classmethod
    def setUpClass(cls):
        cls.fleet = None
        fleet = Fleet.__new__(Fleet)
        try:
            Fleet.__init__(fleet)
        except BaseException:
            if hasattr(fleet, "hbd"):
                print("---- hbd log ----\n" + fleet.hbd.log())
            fleet.close()
            raise
        cls.fleet = fleet
        cls.db = fleet.hbd.db

    @classmethod
    def tearDownClass(cls):
        if cls.fleet:
            cls.fleet.close()

    def ok(self, *args):
        r = query(self.db, *args)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def names(self, *args):
        """Hostnames a hosts listing shows, sorted."""
        return sorted(h["hostname"] for h in
                      json.loads(self.ok("hosts", "--json", *args)))

    def db_names(self, where="1", args=()):
        return sorted(r[0] for r in self.fleet.hbd.query(
            "SELECT hostname FROM hosts WHERE " + where, args))

    def host_rows(self):
        con = sqlite3.connect("file:%s?mode=ro" % self.db, uri=True)
        con.row_factory = sqlite3.Row
        try:
            return {r["uuid"]: dict(r) for r in con.execute(
                "SELECT h.*, (SELECT count(*) FROM plugin_latest p"
                " WHERE p.host_id = h.id) AS plugins FROM hosts h")}
        finally:
            con.close()

    # ---- hosts ----

    def test_hosts_table(self):
        out = self.ok("hosts")
        lines = out.rstrip("\n").split("\n")
        head, rows = table(out)
        self.assertEqual(head, ["HOST", "STATE", "LAST SEEN", "ADDRESS",
                                "OWNER", "STATUS", "PLUGINS"])
        self.assertEqual([r[0] for r in rows], self.db_names(
            "1 ORDER BY hostname, uuid"))
        by = {r[0]: r for r in rows}
        web = by["web-1"]
        self.assertRegex(web[1], SPAN % "UP")
        self.assertRegex(web[2], r"^\d+s ago$")
        self.assertLess(int(web[2].split("s")[0]), 10)
        self.assertRegex(web[3], r"^127\.0\.0\.1:\d+$")
        self.assertEqual(web[4:], ["ops", "OK", "2"])
        self.assertRegex(by["load-1"][1], SPAN % "DOWN")
        self.assertEqual(by["load-1"][4], "-")
        # The status message, shortened to 40 characters.
        msg = self.fleet.hbd.scalar(
            "SELECT status_msg FROM hosts WHERE hostname = 'db-1'")
        self.assertTrue(msg.startswith("load: load 900.00"), msg)
        self.assertGreater(len(msg), 40)
        self.assertEqual(by["db-1"][5], "CRITICAL: " + msg[:37] + "...")
        self.assertEqual(sorted(r[1].split()[0] for r in rows),
                         ["DOWN"] * 3 + ["STOPPED"] + ["UP"] * 2)
        # Aligned: every row's address starts under ADDRESS, its plugin
        # count ends under the end of PLUGINS.
        col = lines[0].index("ADDRESS")
        end = len(lines[0])
        for line in lines[1:]:
            self.assertEqual(line[col:col + 10], "127.0.0.1:", line)
            self.assertEqual(len(line), end, line)
        self.assertNotIn("\033", out)

    def test_hosts_filters(self):
        self.assertEqual(self.names("--state", "down"),
                         self.db_names("state = 'DOWN'"))
        self.assertEqual(self.names("--state", "Up"), ["db-1", "web-1"])
        self.assertEqual(self.names("--state", "STOPPED,down"),
                         ["load-0", "load-0", "load-1", "load-2"])
        self.assertEqual(self.names("--state", "up", "--state", "stopped"),
                         ["db-1", "load-0", "web-1"])
        self.assertEqual(self.names("--owner", "ops"), ["web-1"])
        self.assertEqual(self.names("--owner", "nobody"), [])
        self.assertEqual(self.names("--label", "env=prod"), ["web-1"])
        self.assertEqual(self.names("--label", "role"), ["db-1", "web-1"])
        self.assertEqual(self.names("--label", "role", "--label", "env=dev"),
                         ["db-1"])
        self.assertEqual(self.names("--label", "env=dev", "--owner", "ops"),
                         [])
        self.assertEqual(self.names("load-*"),
                         self.db_names("hostname GLOB 'load-*'"))
        self.assertEqual(self.names("WEB-?"), ["web-1"])
        self.assertEqual(self.names("web-*", "db-*"), ["db-1", "web-1"])
        self.assertEqual(self.names("--state", "down", "load-[01]"),
                         ["load-0", "load-1"])
        # The same filters shape the table.
        head, rows = table(self.ok("hosts", "--label", "env=prod"))
        self.assertEqual([r[0] for r in rows], ["web-1"])
        r = query(self.db, "hosts", "nothing-*")
        self.assertEqual((r.returncode, r.stdout), (0, ""))
        self.assertEqual(r.stderr, "no hosts match\n")

    def test_hosts_json_matches_database(self):
        before = self.host_rows()
        hosts = json.loads(self.ok("hosts", "--json"))
        after = self.host_rows()
        self.assertEqual(sorted(h["uuid"] for h in hosts), sorted(before))
        plain = ("uuid", "hostname", "state", "state_since", "last_seen",
                 "first_seen", "address", "owner", "version", "interval_s",
                 "status", "status_text", "status_msg", "plugins",
                 "received", "lost", "skew_ms", "epoch", "seq",
                 "boot_start", "boot_id")
        for h in hosts:
            rows = (before[h["uuid"]], after[h["uuid"]])
            for k in plain:
                self.assertIn(h[k], (rows[0][k], rows[1][k]),
                              "%s %s" % (h["hostname"], k))
            self.assertIn(h["labels"],
                          [json.loads(r["labels"]) for r in rows])
            for k in ("state_since", "last_seen", "first_seen"):
                self.assertEqual(h[k + "_iso"], iso(h[k]))
                self.assertRegex(h[k + "_iso"], ISO)
            self.assertEqual(h["boot_start_iso"], iso(h["boot_start"] * 1000))
        web = [h for h in hosts if h["hostname"] == "web-1"][0]
        self.assertEqual(web["uuid"], self.fleet.uuids["web-1"])
        self.assertEqual(web["labels"], {"env": "prod", "role": "web"})
        self.assertEqual((web["owner"], web["interval_s"], web["plugins"]),
                         ("ops", 1, 2))
        self.assertRegex(web["boot_id"], r"^[0-9a-f-]{36}$")
        self.assertEqual(len(hosts[0]), 26)  # every field, no more

    def test_hosts_csv(self):
        r = query(self.db, "hosts", "--csv", binary=True)
        self.assertEqual(r.returncode, 0)
        raw = r.stdout.decode()
        self.assertTrue(raw.endswith("\r\n"))
        rows = list(csv.reader(io.StringIO(raw, newline="")))
        hosts = json.loads(self.ok("hosts", "--json"))
        self.assertEqual(rows[0], list(hosts[0].keys()))
        self.assertEqual(len(rows) - 1, len(hosts))
        for row, h in zip(rows[1:], hosts):
            rec = dict(zip(rows[0], row))
            self.assertEqual(rec["uuid"], h["uuid"])
            self.assertEqual(json.loads(rec["labels"]), h["labels"])
            if h["state"] != "UP":  # nothing moves: every field equal
                for k, v in h.items():
                    want = ("" if v is None else json.dumps(v, separators=(
                        ",", ":")) if k == "labels" else str(v))
                    self.assertEqual(rec[k], want, k)
        web = [dict(zip(rows[0], r)) for r in rows[1:] if r[1] == "web-1"]
        self.assertEqual(json.loads(web[0]["labels"]),
                         {"env": "prod", "role": "web"})

    # ---- host ----

    def test_host_detail(self):
        out = self.ok("host", "web-1")
        lines = out.split("\n")
        self.assertEqual(lines[0], "web-1")
        self.assertIn("  uuid          %s" % self.fleet.uuids["web-1"], lines)
        self.assertIn("  labels        env=prod, role=web", lines)
        self.assertIn("  owner         ops", lines)
        self.assertRegex(out, r"\n  state         UP for (\d+[dhm])?\d+[hms],"
                              r" since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n")
        # Info data nested and indented, not a JSON dump.
        info = out[out.index("\nInfo data\n"):out.index("\nMonitor values")]
        self.assertRegex(info, r"\n  os  OK  \d+s ago  ")
        self.assertIn("\n    uname:\n", info)
        self.assertIn("\n      sysname: Linux\n", info)
        self.assertIn("\n    cpus:\n      online: ", info)
        self.assertNotIn("{", info)
        # Monitor values by path, with their age and status.
        mon = out[out.index("\nMonitor values\n"):out.index("\nEvents")]
        self.assertRegex(mon, r"\n  load  OK  \d+s ago \(every 1s\)  load ")
        self.assertRegex(mon, r"\n    per_cpu\.load1 +\d+(\.\d+)?\n")
        self.assertRegex(mon, r"\n    cpus +\d+\n")
        ev = out[out.index("\nEvents"):]
        self.assertRegex(ev, r"\n  \S+Z  state  STOPPED -> UP  first "
                             r"heartbeat\n")
        self.assertNotIn("\033", out)

    def test_host_names(self):
        uuid = self.fleet.uuids["db-1"]
        for name in (uuid, uuid.upper(), uuid[:8], uuid[:13], "db-1",
                     "DB-1"):
            out = self.ok("host", name)
            self.assertTrue(out.startswith("db-1\n"), name)
            self.assertIn(uuid, out)
        r = query(self.db, "host", "load-0")
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stdout, "")
        self.assertEqual(len(r.stderr.splitlines()), 1)
        self.assertIn("'load-0' names 2 hosts", r.stderr)
        for u in self.fleet.hbd.query(
                "SELECT uuid FROM hosts WHERE hostname = 'load-0'"):
            self.assertIn(u[0], r.stderr)
        # Either of them by its uuid.
        u = self.fleet.hbd.scalar("SELECT uuid FROM hosts WHERE hostname ="
                                  " 'load-0' AND state = 'STOPPED'")
        self.assertIn("STOPPED", self.ok("host", u[:8]))

    def test_host_json(self):
        h = json.loads(self.ok("host", "web-1", "--json"))
        self.assertEqual(h["uuid"], self.fleet.uuids["web-1"])
        self.assertEqual(h["labels"], {"env": "prod", "role": "web"})
        latest = {p["plugin"]: p for p in h["plugin_latest"]}
        self.assertEqual(sorted(latest), ["load", "os"])
        self.assertEqual(latest["os"]["kind"], "info")
        self.assertEqual(latest["os"]["data"]["uname"]["sysname"], "Linux")
        self.assertEqual(latest["load"]["kind"], "monitor")
        self.assertIsInstance(latest["load"]["data"]["load1"], (int, float))
        self.assertEqual(latest["load"]["time_iso"],
                         iso(latest["load"]["time"]))
        self.assertEqual(h["events"][0]["reason"], "first heartbeat")
        self.assertEqual((h["events"][0]["from"], h["events"][0]["to"]),
                         ("STOPPED", "UP"))

    # ---- plugin ----

    def test_plugin_field(self):
        web = self.fleet.uuids["web-1"]
        rows = json.loads(self.ok("plugin", "load", "--host", "web-1",
                                  "--field", "load1", "--json"))
        self.assertGreaterEqual(len(rows), 3)
        db = dict(self.fleet.hbd.query(
            "SELECT ph.time, json_extract(ph.data, '$.load1') FROM"
            " plugin_history ph JOIN hosts h ON h.id = ph.host_id WHERE"
            " h.uuid = ? AND ph.plugin = 'load'", (web,)))
        times = [r["time"] for r in rows]
        self.assertEqual(times, sorted(times))
        for r in rows:
            self.assertEqual((r["uuid"], r["hostname"], r["field"]),
                             (web, "web-1", "load1"))
            self.assertEqual(r["value"], db[r["time"]])
            self.assertEqual(r["value"], 0.5)  # from Fleet.WEB_LOAD
            self.assertEqual(r["status_text"], "OK")
            self.assertNotIn("data", r)
        # Nested fields: a table with the path as the last heading.
        head, rows = table(self.ok("plugin", "load", "--host", "db-1",
                                   "--field", "per_cpu.load1"))
        self.assertEqual(head, ["TIME", "HOST", "STATUS", "per_cpu.load1"])
        self.assertGreaterEqual(len(rows), 3)
        cpus = [p for p in json.loads(self.ok("host", "db-1", "--json"))[
            "plugin_latest"] if p["plugin"] == "load"][0]["data"]["cpus"]
        for r in rows:
            self.assertRegex(r[0], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
            self.assertEqual(r[1:3], ["db-1", "CRITICAL"])
            self.assertAlmostEqual(float(r[3]), 900 / cpus, places=2)
        # A string, from the Info plugin, in CSV.
        r = query(self.db, "plugin", "os", "--since", "all", "--field",
                  "uname.sysname", "--host", "web-1", "--csv", binary=True)
        rows = list(csv.reader(io.StringIO(r.stdout.decode(), newline="")))
        self.assertEqual(rows[0][-2:], ["field", "value"])
        self.assertEqual([x[-1] for x in rows[1:]], ["Linux"])
        # A whole object as JSON, and --limit.
        rows = json.loads(self.ok("plugin", "load", "--field", "per_cpu",
                                  "--limit", "2", "--json"))
        self.assertEqual(len(rows), 2)
        self.assertEqual(sorted(rows[0]["value"]),
                         ["load1", "load15", "load5"])

    def test_plugin_data(self):
        rows = json.loads(self.ok("plugin", "os", "--since", "1h", "--json"))
        self.assertEqual(sorted(r["hostname"] for r in rows),
                         ["db-1", "load-0", "load-1", "load-2", "web-1"])
        web = [r for r in rows if r["hostname"] == "web-1"][0]
        self.assertEqual(web["data"]["uname"]["sysname"], "Linux")
        head, rows = table(self.ok("plugin", "load", "--host", "web-1",
                                   "--limit", "1"))
        self.assertEqual(head, ["TIME", "HOST", "STATUS", "DATA"])
        self.assertEqual(len(rows), 1)
        self.assertIn("load1", json.loads(rows[0][3]))
        r = query(self.db, "plugin", "load", "--field", "nosuch")
        self.assertEqual(r.returncode, 0)
        self.assertIn("no sample has field 'nosuch'", r.stderr)

    # ---- events ----

    def test_events_since(self):
        out = self.ok("events", "--since", "1h")
        head, rows = table(out)
        self.assertEqual(head, ["TIME", "HOST", "KIND", "CHANGE", "REASON"])
        changes = [(r[1], r[3]) for r in rows if r[2] == "state"]
        for name in ("web-1", "db-1", "load-1", "load-2"):
            self.assertIn((name, "STOPPED -> UP"), changes)
        for name in ("load-1", "load-2"):
            self.assertIn((name, "UP -> LATE"), changes)
            self.assertIn((name, "LATE -> DOWN"), changes)
        self.assertIn(("load-0", "UP -> STOPPED"), changes)
        self.assertRegex(out, r"LATE -> DOWN +no heartbeat for \d+\.\d s")
        # JSON: exactly the events table, oldest first.
        ev = json.loads(self.ok("events", "--since", "1h", "--json"))
        db = self.fleet.hbd.query(
            "SELECT e.id, e.time, h.uuid, e.kind, e.from_state, e.to_state,"
            " e.reason FROM events e JOIN hosts h ON h.id = e.host_id"
            " ORDER BY e.id")
        self.assertEqual([(e["id"], e["time"], e["uuid"], e["kind"],
                           e["from"], e["to"], e["reason"]) for e in ev],
                         [tuple(r) for r in db])
        one = json.loads(self.ok("events", "--host", "load-1", "--kind",
                                 "state", "--json"))
        self.assertEqual([(e["from"], e["to"]) for e in one],
                         [("STOPPED", "UP"), ("UP", "LATE"),
                          ("LATE", "DOWN")])
        self.assertEqual(len(json.loads(self.ok(
            "events", "--limit", "2", "--json"))), 2)
        self.assertEqual(json.loads(self.ok(
            "events", "--kind", "reboot", "--json")), [])

    # ---- errors, help, colour ----

    def assertFails(self, r, words):
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertEqual(r.stdout, "")
        self.assertEqual(len(r.stderr.splitlines()), 1, r.stderr)
        self.assertTrue(r.stderr.startswith("hb-query: "), r.stderr)
        self.assertIn(words, r.stderr)

    def test_usage_errors(self):
        db = self.db
        cases = [
            (("hosts", "--bogus"), "unknown option '--bogus'"),
            (("hosts", "-x"), "unknown option '-x'"),
            (("--bogus", "hosts"), "unknown option '--bogus'"),
            (("hosts", "--state"), "needs a value"),
            (("hosts", "--state", "asleep"), "unknown state 'asleep'"),
            (("hosts", "--label", "=x"), "bad label key"),
            (("hosts", "--json", "--csv"), "exclude each other"),
            (("host",), "which host"),
            (("host", "nosuch"), "no host 'nosuch'"),
            (("host", "web-1", "db-1"), "one host at a time"),
            (("plugin",), "which plugin"),
            (("plugin", "nosuch"), "no plugin 'nosuch'"),
            (("plugin", "load", "--since", "10"), "bad duration '10'"),
            (("plugin", "load", "--since", "2x"), "bad duration '2x'"),
            (("plugin", "load", "--since", "-1h"), "bad duration"),
            (("plugin", "load", "--field", "a["), "bad path 'a['"),
            (("plugin", "load", "--host", "nosuch"), "no host 'nosuch'"),
            (("events", "--since", "h"), "bad duration 'h'"),
            (("events", "--limit", "0"), "bad count '0'"),
            (("events", "extra"), "unexpected argument 'extra'"),
            (("stats", "--csv"), "unknown option '--csv'"),
            (("frobnicate",), "unknown command 'frobnicate'"),
            ((), "no command given"),
        ]
        for args, words in cases:
            with self.subTest(args=args):
                self.assertFails(query(db, *args), words)

    def test_database_errors(self):
        tmp = tempfile.mkdtemp(prefix="hb-query-db-")
        self.addCleanup(shutil.rmtree, tmp, True)
        missing = os.path.join(tmp, "none.db")
        self.assertFails(query(missing, "hosts"), "no such database")
        text = os.path.join(tmp, "text.db")
        with open(text, "w") as f:
            f.write("this is not a database\n" * 100)
        self.assertFails(query(text, "hosts"), "not an SQLite database")
        other = os.path.join(tmp, "other.db")
        con = sqlite3.connect(other)
        con.execute("CREATE TABLE t (x)")
        con.commit()
        con.close()
        self.assertFails(query(other, "stats"), "not an hb database")
        self.assertFails(query(tmp, "hosts"), "is a directory")
        # A copy of the real database with its pages overwritten.
        bad = os.path.join(tmp, "corrupt.db")
        src = sqlite3.connect("file:%s?mode=ro" % self.db, uri=True)
        dst = sqlite3.connect(bad)
        src.backup(dst)
        src.close()
        dst.close()
        with open(bad, "r+b") as f:
            f.seek(4096)
            f.write(b"\xa5" * (os.path.getsize(bad) - 4096))
        for cmd in ("hosts", "stats", "events"):
            self.assertFails(query(bad, cmd), "malformed")
        # HB_DB names the database; --db wins over it.
        r = query(None, "hosts", "--json",
                  env=env_without("NO_COLOR", HB_DB=self.db))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(json.loads(r.stdout)), 6)
        self.assertFails(query(missing, "hosts",
                               env=env_without("NO_COLOR", HB_DB=self.db)),
                         missing)

    @unittest.skipUnless(os.geteuid() == 0, "needs root to become nobody")
    def test_read_as_another_user(self):
        """An operator who may read the database files but not write
        their directory: while hbd runs, and once it has stopped."""
        def as_nobody(db):
            return subprocess.run([QUERY, "--db", db, "hosts", "--json"],
                                  capture_output=True, text=True,
                                  timeout=30, user="nobody", cwd="/")
        os.chmod(self.fleet.tmp, 0o755)
        r = as_nobody(self.db)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(json.loads(r.stdout)), 6)
        shm = self.db + "-shm"
        mode = os.stat(shm).st_mode & 0o777
        os.chmod(shm, 0o600)
        try:
            r = as_nobody(self.db)
        finally:
            os.chmod(shm, mode)
        self.assertFails(r, "-shm")
        # A stopped hbd's database: no -wal, no -shm.
        tmp = tempfile.mkdtemp(prefix="hb-query-ro-")
        self.addCleanup(shutil.rmtree, tmp, True)
        os.chmod(tmp, 0o755)
        copy = os.path.join(tmp, "hb.db")
        src = sqlite3.connect("file:%s?mode=ro" % self.db, uri=True)
        dst = sqlite3.connect(copy)
        src.backup(dst)
        dst.execute("PRAGMA journal_mode = WAL")
        src.close()
        dst.close()
        self.assertEqual(sorted(os.listdir(tmp)), ["hb.db"])
        r = as_nobody(copy)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(json.loads(r.stdout)), 6)

    def test_help(self):
        for cmd in ([], ["hosts"], ["host"], ["plugin"], ["events"],
                    ["stats"]):
            # No database needed.
            r = query("/nonexistent/hb.db", *(cmd + ["--help"]))
            self.assertEqual((r.returncode, r.stderr), (0, ""), cmd)
            self.assertTrue(r.stdout.startswith(
                "usage: hb-query " + (cmd[0] + " " if cmd else "")), cmd)
            if cmd:
                self.assertEqual(query(None, "help", cmd[0]).stdout,
                                 r.stdout)
        self.assertIn("hb-query hosts --state down",
                      query(None, "-h").stdout)
        self.assertRegex(query(None, "--version").stdout,
                         r"^hb-query \d+\.\d+\.\d+\n$")

    def run_tty(self, env, *args):
        """hb-query with a terminal as stdout: what it wrote."""
        master, slave = pty.openpty()
        try:
            p = subprocess.run([QUERY, "--db", self.db] + list(args),
                               stdout=slave, stderr=subprocess.PIPE,
                               env=env, timeout=30)
        finally:
            os.close(slave)
        out = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        os.close(master)
        self.assertEqual(p.returncode, 0, p.stderr)
        return out.decode()

    def test_colour_only_on_a_terminal(self):
        env = env_without("NO_COLOR", "HB_DB", TERM="xterm")
        out = self.run_tty(env, "hosts")
        self.assertIn("\033[32mUP ", out)
        self.assertIn("\033[31mDOWN ", out)
        self.assertIn("\033[32mOK\033[0m", out)
        self.assertIn("\033[31mCRITICAL: load: ", out)
        self.assertNotIn("\033", self.run_tty(dict(env, NO_COLOR="1"),
                                              "hosts"))
        self.assertNotIn("\033", self.run_tty(env, "hosts", "--json"))
        self.assertNotIn("\033", self.ok("host", "web-1"))

    def test_odd_input_never_crashes(self):
        """Every run ends with 0 or 2, never a signal."""
        odd = [
            ["hosts", "--label", "a\"b=c"], ["hosts", "--label", "="],
            ["hosts", "--label", "k=v=w"], ["hosts", "[", "*", ""],
            ["hosts", "--state", ",,"], ["hosts", "--owner", ""],
            ["host", ""], ["host", "%"], ["host", "_" * 5000],
            ["host", "\u00e9\u00e8\u00ea"], ["host", "'; DROP TABLE hosts"],
            ["plugin", ""], ["plugin", "load", "--field", ""],
            ["plugin", "load", "--field", "$"],
            ["plugin", "load", "--field", "[#-1]"],
            ["plugin", "load", "--field", "\"a b\".c"],
            ["plugin", "load", "--since", "99999999999999999999d"],
            ["plugin", "load", "--since", "all", "--limit", "1"],
            ["plugin", "load", "--since", "1h30m15s500ms"],
            ["plugin", "load", "--limit", "99999999999999999999"],
            ["events", "--since", "0s"], ["events", "--kind", ""],
            ["events", "--host", "x" * 100000], ["stats", "--json"],
            ["help", "nosuch"], ["--db"], ["--db", ""], ["-"], ["--"],
        ]
        for args in odd:
            with self.subTest(args=args):
                r = query(self.db, *args)
                self.assertIn(r.returncode, (0, 2), r.stderr)
                if r.returncode:
                    self.assertEqual(len(r.stderr.splitlines()), 1,
                                     r.stderr)
        self.assertEqual(self.fleet.hbd.scalar(
            "SELECT count(*) FROM hosts"), 6)


class StatsTest(HbTestCase):

    def test_stats_after_hbd_stopped(self):
        d = self.hbd().start()
        rep = hbtest.load(d, "-n", 5, "-c", 3, "-i", 60, "--inject",
                          "forged")
        self.assertEqual(rep["sent_htb"], 15)
        self.assertEqual(rep["lost"], 0)
        wait_for("15 HTBs received",
                 lambda: d.live_counters().get("rx_htb") == 15, 10)
        self.assertEqual(d.stop(), 0)
        stored = d.stored_counters()
        r = query(d.db, "stats")
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout
        self.assertRegex(out, r"(?m)^  rx_htb +15$")
        self.assertRegex(out, r"^counters written \S+Z \(\d+s ago\)\n")
        titles = re.findall(r"(?m)^(\S[^\n]*)$", out)[1:]
        self.assertEqual(titles, ["receive", "drops", "store", "ACKs",
                                  "hosts and events"])
        values = dict(re.findall(r"(?m)^  (\w+) +(\d+)$", out))
        self.assertEqual({k: int(v) for k, v in values.items()}, stored)
        # Non-zero drops first, zeros after.
        drops = out[out.index("\ndrops\n"):out.index("\nstore\n")]
        counts = [int(v) for v in re.findall(r"(?m) (\d+)$", drops)]
        self.assertGreater(counts[0], 0)
        self.assertGreater(stored["drop_bad_tag"], 0)
        self.assertEqual(counts, sorted(counts, reverse=True))
        js = json.loads(query(d.db, "stats", "--json").stdout)
        self.assertEqual(js["counters"], stored)
        self.assertEqual(js["written"], d.scalar(
            "SELECT max(time) FROM counters"))
        self.assertEqual(js["written_iso"], iso(js["written"]))

    def test_empty_database(self):
        """hbd's fresh database: every listing empty, no error."""
        d = self.hbd().start()
        wait_for("the schema", lambda: d.scalar("PRAGMA user_version"), 5)
        for args, out in ((("hosts",), ""), (("hosts", "--json"), "[]\n"),
                          (("events", "--json"), "[]\n"),
                          (("stats", "--json"), '{"written":null,'
                           '"written_iso":null,"counters":{}}\n')):
            r = query(d.db, *args)
            self.assertEqual((r.returncode, r.stdout), (0, out), args)
        self.assertEqual(query(d.db, "hosts").stderr, "no hosts yet\n")
        self.assertEqual(query(d.db, "plugin", "os").returncode, 2)


class UnderLoadTest(HbTestCase):

    def test_reads_while_hbd_writes(self):
        """hb-query keeps answering, consistently, while hb-load keeps
        hbd's writer busy."""
        d = self.hbd().start()
        p = self.start_load(d, "-n", 3000, "-r", 6000, "-d", 6, "-i", 60,
                            "--info", "--plg", 300)
        seen = []
        deadline = time.monotonic() + 60
        while p.poll() is None and time.monotonic() < deadline:
            hosts = json.loads(self.run_ok(d, "hosts", "--json"))
            seen.append(len(hosts))
            self.assertEqual(len({h["uuid"] for h in hosts}), len(hosts))
            for h in hosts[:50]:
                self.assertEqual(h["last_seen_iso"], iso(h["last_seen"]))
            json.loads(self.run_ok(d, "stats", "--json"))
            json.loads(self.run_ok(d, "events", "--json", "--limit", 100))
            self.run_ok(d, "hosts", "--state", "up", "load-1*")
            if hosts:
                self.run_ok(d, "host", hosts[-1]["uuid"])
                self.run_ok(d, "plugin", "blob", "--limit", 50, "--field",
                            "blob")
        rc, rep = hbtest.finish_load(p)
        self.assertEqual(rc, 0)
        self.assertGreaterEqual(len(seen), 3)
        self.assertEqual(seen, sorted(seen))  # hosts are never deleted
        wait_for("every host stored",
                 lambda: d.scalar("SELECT count(*) FROM hosts") == 3000, 30)
        self.assertEqual(len(json.loads(self.run_ok(d, "hosts", "--json"))),
                         3000)
        self.assertNoErrors(d)

    def run_ok(self, d, *args):
        r = query(d.db, *args)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout


if __name__ == "__main__":
    unittest.main()
