#!/usr/bin/env python3
"""bench-report.py: every number bench/ringcap-bench shows is made here.

The bench script runs programs; this tool reads what they print and keeps one
log, OUT/bench.jsonl: one JSON object per line, "type" saying what it is
(config, disk, writer, ceiling, run). A run line is one arm run, built from the
generator's, the arm's and the kernel's own output. `report` makes everything a
reader sees from that log alone, so a report can be rebuilt or changed later:

  bench-report.py start   LOG key=value...        the run's settings and the machine
  bench-report.py line    LOG disk|writer RC JSON ERR   a disk or writer line (or
                          `skipped REASON`); prints why it gave no figure
  bench-report.py ceiling LOG FRAME GEN.json...   the generator alone, flat out
  bench-report.py rate    LOG FRAME TOKEN         frames/s to offer for a --rates token
                          (max, N, diskNN); exit 1 and the reason if there is none
  bench-report.py sent    GEN.json...             exit 0 if the generators sent a frame
  bench-report.py run     LOG key=value...        one arm run (files named by key=value)
  bench-report.py report  LOG OUT                 the table on stdout; runs.csv,
                          summary.csv, bench.json, plots, report.md, report.html in OUT;
                          exit 3 if a run failed
  bench-report.py tap FILE STATS IFACES GENS NONE0 NONE1 CAP0 CAP1 CAPINFOS RC
                          bench/tap-bench.sh's table (exit 3 if a frame was lost)
  bench-report.py compress JSONL                  bench/compress-bench.sh's table

ringcap-bench checks its own arguments; `start` records the settings it ran
with (the config line), and everything after reads them from there.

What every column means is in COLUMNS below (also printed in every report).
Python 3 standard library only; plots with gnuplot when it is installed.

How the numbers come about (what ringcap-bench runs):

Arms. recvfrom, recvmmsg, v2, v3, v3-fanout: bench/ringcap-arm, which owns its
socket(s) and reads PACKET_STATISTICS itself. ringcap (to /dev/null),
ringcap-disk (to a file on --disk), tcpdump (-w to --disk, default -B),
tcpdump-bigbuf (-B = ringcap's total ring memory), netsniff-ng (--out to --disk,
-S = ringcap's total ring memory): run under `ringcap-arm --exec`, which charges
them the CPU they use between "listening" and quiet. -1cpu: one worker on the
capture CPU; -2on1: two workers (the time-order merge) with every thread there.
A peer tool that is not installed is reported as "not installed", never
measured by something else.
ringcap-fixed: every CPU's worker receiving from the start; ringcap-fixed2: -T 2
--workers fixed. ringcap-pcapng, ringcap-1cpu-pcapng: ringcap-disk and
ringcap-disk-1cpu in pcapng. ringcap-zstdL, ringcap-1cpu-zstdL: the same with
--compress zstd:L (FILE.zst; file_bytes, compress_ratio and the raw chunks in
the run line, file_packets from the decompressed stream).

Floors. Below the table, every arm is set against ringcap-1cpu (one worker) of
the same repeat: the median over the repeats of the per-run differences in
whole-machine and per-process ns per packet, with the floor where there is one
(ringcap, the defaults: at most max(25% of one worker's figure, 60 ns) above it;
ringcap-fixed2: at most max(1x, 100 ns)); every pcapng arm against its pcap arm
(ringcap-disk[-1cpu]) as the median of per-run ratios, floor +5%; and each
compressed arm's file: bytes on disk, ratio, raw chunks, whether every frame was
kept.

CPUs. The generator runs on CPU 0; --gen-cpus 0,1 runs one on each CPU, each
sending half the frames at half the rate (each CPU then also does the kernel's
receive work for its own frames). Single-threaded arms are pinned to CPU 1.
v3-fanout and ringcap run one thread per CPU, as in production; on a 2-CPU
machine their CPU-0 thread shares that CPU with the generator and the kernel's
receive work.

RPS is off by default, on purpose. On veth the kernel's receive work (the
AF_PACKET hooks that fill the rings) runs on the sender's CPU unless RPS is set;
a real NIC does it on the CPU that takes the interrupt, which is also not the
capture thread's. With RPS on, the generator's rate swings up to 4x from run to
run on these machines. --rps turns it on (all CPUs in rps_cpus of the receiving
veth); every report says which mode ran.

CPU budget. --cpu-budget runs the capture process (ringcap-arm for its own
arms; the tool itself, not ringcap-arm, under --exec) in a cgroup limited to
that percent of one CPU (quota/period of 100 ms), at one offered rate; the
generator is not limited. A ring can hold a whole short run and be read after
the sender stops: the report says when that applies.

Whole-machine CPU. The capture process's own user+sys misses the kernel's
delivery into its ring: on veth that runs in softirq on the sender's CPU and is
billed to whatever runs there. So every run also reads /proc/stat (user + nice +
system + irq + softirq, all CPUs) just before the generator starts and just after
it ends (the same window for every arm; what a capture does after that, its
last block, is left out, where an idle tail would add other load), and the "none" arm runs the same paced stream with no
capture at all, first in every turn. An arm's machine_ns_per_pkt is its run's
whole-machine busy time less that of the "none" run of the same repeat (same
frame, rate and budget), per offered frame: the per-run difference, never
figures from different turns. The generator sleeps between paced batches
(ringcap-gen --pace sleep): a generator that spins for pacing keeps its CPU busy,
the capture's kernel work then only displaces spinning and would not show. The
figure is noisy (other load on the machine, the tick-sampled /proc/stat): read
medians over five or more repeats.

Rates. max (the generator flat out), frames/s, or diskNN (NN = 1..100): NN% of
the disk line measured in this run, as pcap records of that frame size (frame +
a 16-byte record header) per second, rounded down. disk95 is for a disk that
cannot take 10 Gbit/s of 1514-byte frames (1.23 GB/s). If the disk line fails,
those runs fail and say why. The token stays the rate's label; the frames/s it
stood for are under the table, in rate_pps and in bench.json's rates_resolved.

Disk and writer lines. The disk line is ringcap-disk on --disk: the raw O_DIRECT
io_uring write rate. Page-cache writers (tcpdump, netsniff-ng) can keep more than
it in a short run: the page cache takes the run before the disk does. The writer
line is ringcap's writer fed from memory (no network), to tell the pipeline's
capacity from the generator's ceiling. --quick measures neither (a short disk
line only when a diskNN rate needs it).
"""
import base64
import csv
import datetime
import html
import json
import os
import re
import shutil
import statistics
import struct
import subprocess
import sys

COLUMNS = [
    ("frame", "frame size in bytes (Ethernet header to payload end, no FCS)"),
    ("rate", "the --rates token: max (the generator flat out), frames/s, or diskNN"),
    ("budget", "--cpu-budget: percent of one CPU the capture process may use (cgroup), empty without"),
    ("arm", "the capture method"),
    ("rep", "repeat number"),
    ("status", "ok, failed (note says why) or not installed (never measured by something else)"),
    ("offered", "frames the generator really sent (its own count, all generators summed)"),
    ("gen_seconds", "the generator's send time (the slowest generator's)"),
    ("offered_mpps", "offered / gen_seconds, in millions of frames per second"),
    ("kept", "frames the arm read (tcpdump, netsniff-ng, ringcap: what they captured)"),
    ("drops", "the kernel's tp_drops (PACKET_STATISTICS, accumulated in 64 bits)"),
    ("unaccounted", "offered - kept - drops: lost before the socket (see backlog_drops) or left unread"),
    ("drop_pct", "drops / offered, percent"),
    ("kept_pct", "kept / offered, percent"),
    ("kept_mpps", "kept / gen_seconds, Mpps"),
    ("kept_gbps", "kept at line rate (frame + 24 B of preamble, FCS and gap) per gen_seconds: "
                  "812,744 frames/s of 1514 B are 10 Gbit/s"),
    ("user_ns", "user CPU of the capture process from listening to quiet (every thread)"),
    ("sys_ns", "system CPU of the same (user+sys is exact; the split is tick-sampled)"),
    ("cpu_ns_per_pkt", "(user + sys) / kept. tcpdump and netsniff-ng write through the page cache: "
                       "the kernel's write-back is not charged to them; ringcap writes O_DIRECT and pays"),
    ("machine_ns_per_pkt", "whole-machine CPU the capture added per offered frame: machine_ns_per_pkt_raw "
                           "less that of the none run of the same repeat (none: empty)"),
    ("machine_ns_per_pkt_raw", "whole-machine busy CPU (/proc/stat user+nice+system+irq+softirq, all CPUs, "
                               "while the generator sends) / offered"),
    ("machine_ns", "that whole-machine busy CPU, ns"),
    ("user_ns_per_pkt", "user / kept"),
    ("sys_ns_per_pkt", "sys / kept"),
    ("core_mpps", "Mpps one core could sustain at that cost: 1e9 / cpu_ns_per_pkt / 1e6"),
    ("freeze_q", "times the ring's queue froze waiting for a block (tp_freeze_q_cnt)"),
    ("kernel_packets", "tp_packets: what passed the socket filter (kept, dropped or unread)"),
    ("file_packets", "records in the capture file: pcap from its size (a .zst decompressed with zstd), "
                     "pcapng by walking its blocks (file-writing arms)"),
    ("all_kept", "1 when kept = offered and the file (if any) holds every kept frame, else 0"),
    ("file_bytes", "bytes of the capture file on disk (FILE.zst with --compress)"),
    ("compress_ratio", "--compress: uncompressed bytes / bytes on disk (compress_bytes_in / compress_bytes_out)"),
    ("compress_chunks", "--compress: zstd frames compressed (--stats-json)"),
    ("compress_raw_chunks", "--compress: chunks stored raw because the pool was behind (--stats-json)"),
    ("backlog_drops", "frames dropped before any socket in the run (/proc/net/softnet_stat, all CPUs)"),
    ("throttled", "CFS periods in which the cgroup was throttled (cpu.stat nr_throttled)"),
    ("throttled_ms", "time the cgroup was throttled (cpu.stat)"),
    ("writer_stalls", "ringcap: waits for the disk (--stats-json writer_stalls)"),
    ("capture_cpus", "CPUs the capture ran on"),
    ("rps", "1 when RPS was on for the receiving veth"),
    ("note", "what went wrong or looked odd"),
    ("rate_pps", "frames/s asked of the generator (empty for max)"),
]
RUN_FIELDS = [c for c, _ in COLUMNS]
STATS = ["offered_mpps", "kept_pct", "drop_pct", "kept_mpps", "kept_gbps", "cpu_ns_per_pkt",
         "machine_ns_per_pkt", "machine_ns_per_pkt_raw", "user_ns_per_pkt", "sys_ns_per_pkt", "unaccounted", "core_mpps"]
OWN_SOCKET_ARMS = {"recvfrom", "recvmmsg", "v2", "v3", "v3-fanout"}
PAGE_CACHE_ARMS = {"tcpdump", "tcpdump-bigbuf", "netsniff-ng"}
# One look per method in every plot: colour, dash pattern, point type (mostly
# open shapes of falling size, so points on top of each other stay visible).
STYLES = {
    "none": ("#999999", "1", 1), "recvfrom": ("#d62728", "1", 4), "recvmmsg": ("#ff7f0e", "2", 8), "v2": ("#8c564b", "4", 10),
    "v3": ("#1f77b4", "3", 6), "v3-fanout": ("#17becf", "5", 12), "ringcap": ("#2ca02c", "(10,4,2,4)", 2),
    "ringcap-1cpu": ("#006400", "(4,2)", 1), "ringcap-2on1": ("#9467bd", "(12,3)", 3),
    "ringcap-disk": ("#bcbd22", "(2,3)", 14), "ringcap-disk-1cpu": ("#7f7f7f", "(6,2,1,2)", 5),
    "ringcap-disk-2on1": ("#e377c2", "(3,6)", 7), "tcpdump": ("#000000", "(1,3)", 9),
    "tcpdump-bigbuf": ("#aa6600", "(8,2,8,6)", 11), "netsniff-ng": ("#4b0082", "(5,5)", 13),
    "ringcap-fixed": ("#98df8a", "(1,1)", 15), "ringcap-fixed2": ("#d62728", "(1,1)", 6),
    "ringcap-pcapng": ("#bcbd22", "1", 2), "ringcap-1cpu-pcapng": ("#7f7f7f", "1", 4),
}
# the pcap arm each pcapng arm is compared with, in the same run
PCAPNG_PARTNER = {"ringcap-1cpu-pcapng": "ringcap-disk-1cpu", "ringcap-pcapng": "ringcap-disk"}
# arms held to a floor above one worker (ringcap-1cpu), per packet, per-run differences:
# (share of one worker's figure, ns): the difference may be the larger of the two
FLOORS = {"ringcap": (0.25, 60), "ringcap-fixed2": (1.0, 100)}


def fail(msg):
    print("bench-report.py: " + msg, file=sys.stderr)
    sys.exit(2)


def kv(args):
    return dict(a.split("=", 1) for a in args if "=" in a)


def num(v):
    """A number from text, None for empty or malformed."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return int(f) if f == int(f) and "." not in str(v) and "e" not in str(v).lower() else f


def text(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def last_json(path):
    """The last line of PATH that is a JSON object (programs print progress before it)."""
    for line in reversed(text(path).splitlines()):
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict):
            return obj
    return None


def whole_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def last_line(path, skip=("ready",)):
    lines = [l.strip() for l in text(path).replace("\r", "\n").splitlines()]
    lines = [l for l in lines if l and l not in skip]
    return lines[-1] if lines else ""


def append(log, obj):
    with open(log, "a") as f:
        f.write(json.dumps(obj) + "\n")


def read_log(log):
    out = []
    for line in text(log).splitlines():
        if line.strip():
            out.append(json.loads(line))
    return out


def ints(s):
    return [int(x) for x in s.split(",") if x != ""] if s else []


# ----------------------------------------------------------------- start

def mount_of(path):
    best = ("", "?", "?")
    for line in text("/proc/mounts").splitlines():
        dev, mnt, fstype = line.split()[:3]
        if (path == mnt or path.startswith(mnt.rstrip("/") + "/")) and len(mnt) >= len(best[0]):
            best = (mnt, dev, fstype)
    return {"mount": best[0], "device": best[1], "fstype": best[2]}


def machine(disk):
    model = next((l.split(":", 1)[1].strip() for l in text("/proc/cpuinfo").splitlines()
                  if l.startswith("model name")), "unknown CPU")
    u = os.uname()
    return {"name": u.nodename, "kernel": u.release, "cpus": os.cpu_count(), "cpu_model": model,
            "load_start": num(text("/proc/loadavg").split()[0]) if text("/proc/loadavg") else None,
            "disk_fs": mount_of(disk)}


def cmd_start(log, args):
    a = kv(args)
    cfg = {
        "type": "config", "bench": "ringcap-bench",
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": a.get("command", ""), "frames": ints(a.get("frames")),
        "rates": a.get("rates", "").split(","), "packets": int(a["packets"]),
        "repeat": int(a["repeat"]), "arms": a.get("arms", "").split(), "cpu_budgets": ints(a.get("budgets")),
        "flows": int(a["flows"]), "generator_cpus": ints(a.get("gen_cpus")),
        "capture_cpu": int(a["capture_cpu"]), "rps": a.get("rps") == "1", "quick": a.get("quick") == "1",
        "disk": a.get("disk"), "disk_mib": int(a.get("disk_mib", 0)), "big_mib": int(a.get("big_mib", 0)),
        "cgroup": {"path": a["cgroup"], "kind": a.get("cgroup_kind")} if a.get("cgroup") else None,
        "build": a.get("build"), "host": machine(a.get("disk", "/")),
    }
    with open(log, "w") as f:
        f.write(json.dumps(cfg) + "\n")


# ------------------------------------------------- disk, writer, ceiling, rate

def cmd_line(log, kind, rest):
    if rest[0] == "skipped":
        append(log, {"type": kind, "skipped": rest[1]})
        print(rest[1])
        return 0
    rc, out, err = int(rest[0]), rest[1], rest[2]
    j = last_json(out)
    if rc == 0 and j and (j.get("gbytes_per_s") or 0) > 0:
        j["type"] = kind
        # bytes / seconds: more digits than the rounded gbytes_per_s
        j["bytes_per_s"] = (j["bytes"] / j["seconds"] if j.get("bytes") and j.get("seconds")
                            else j["gbytes_per_s"] * 1e9)
        append(log, j)
        return 0
    why = last_line(err) or "%s exit %d, no figure" % (kind, rc)
    append(log, {"type": kind, "error": why})
    print(why)
    return 1


def gen_sum(paths):
    """The generators' JSON lines summed: sent and errors added, seconds of the slowest."""
    sent = errors = 0
    secs = 0.0
    for p in paths:
        j = last_json(p)
        if not j or num(j.get("sent")) is None or num(j.get("seconds")) is None:
            return None
        sent += int(j["sent"])
        errors += int(j.get("errors") or 0)
        secs = max(secs, float(j["seconds"]))
    if not paths:
        return None
    return {"sent": sent, "errors": errors, "seconds": secs, "generators": len(paths),
            "pps": sent / secs if secs > 0 else 0.0}


def cmd_ceiling(log, frame, paths):
    g = gen_sum(paths)
    if g:
        append(log, {"type": "ceiling", "frame": int(frame), "pps": g["pps"], "sent": g["sent"]})
    return 0


def resolve_rate(disk, frame, token):
    """(frames/s or "max", None) or (None, why): never another rate in place of a diskNN."""
    if not token.startswith("disk"):
        return token, None
    pct = int(token[4:])
    if not disk or not disk.get("bytes_per_s"):
        why = (disk or {}).get("error") or (disk or {}).get("skipped") or "it did not run"
        return None, "no disk line to take %d%% of (%s)" % (pct, why)
    pps = int(pct * disk["bytes_per_s"] / (100 * (frame + 16)))
    if not 1000 <= pps <= 100000000:
        return None, "%s at %d B is %d frames/s, outside 1000..100000000" % (token, frame, pps)
    return str(pps), None


def first(events, kind):
    return next((e for e in events if e.get("type") == kind), None)


def cmd_rate(log, frame, token):
    pps, why = resolve_rate(first(read_log(log), "disk"), int(frame), token)
    print(pps if pps else why)
    return 0 if pps else 1


# ------------------------------------------------------------------- run

def peer_counts(arm, err):
    """kept, kernel_packets, drops from a peer tool's exit lines."""
    t = text(err).replace("\r", "\n")

    def grab(pattern):
        m = re.findall(pattern, t)
        return int(m[-1]) if m else None
    if arm.startswith("tcpdump"):
        return (grab(r"(\d+) packets captured"), grab(r"(\d+) packets received by filter"),
                grab(r"(\d+) packets dropped by kernel"))
    # netsniff-ng 0.6 (TPACKET_V3): "S packets incoming (U unread on exit)": S frames it
    # walked and wrote, U = tp_packets - S; "D packets failed filter (out of space)" is tp_drops
    m = re.findall(r"(\d+)\s+packets incoming \((\d+) unread", t)
    s, u = (int(m[-1][0]), int(m[-1][1])) if m else (None, None)
    return s, (s + u if m else None), grab(r"(\d+)\s+packets failed filter")


def softnet_dropped(path):
    """Column 2 of /proc/net/softnet_stat (hex): frames dropped, backlog full; all CPUs."""
    return sum(int(l.split()[1], 16) for l in text(path).splitlines() if len(l.split()) > 1)


def machine_busy_ns(path):
    """Busy CPU of the whole machine so far, ns: /proc/stat's cpu line, user + nice + system + irq +
    softirq (guest time is inside user already; idle, iowait and steal are not busy)."""
    for line in text(path).splitlines():
        f = line.split()
        if f and f[0] == "cpu":
            ticks = sum(int(f[i]) for i in (1, 2, 3, 6, 7))
            return ticks * 1000000000 // os.sysconf("SC_CLK_TCK")
    return None


def none_run(log, r):
    """The "none" run of the same turn (frame, rate, budget, repeat) as r, if it went well."""
    for e in read_log(log):
        if e["type"] == "run" and e["arm"] == "none" and e["status"] == "ok" and \
                (e["frame"], e["rate"], e.get("budget"), e.get("rep")) == \
                (r["frame"], r["rate"], r.get("budget"), r.get("rep")):
            return e
    return None


def cgroup_throttle(path):
    st = dict(l.split()[:2] for l in text(path).splitlines() if len(l.split()) >= 2)
    ns = (int(st["throttled_time"]) if "throttled_time" in st         # v1, ns
          else int(st.get("throttled_usec", 0)) * 1000)               # v2, µs
    return int(st.get("nr_throttled", 0)), ns


def pcap_records(path, frame):
    """Records in a pcap of fixed-size frames: (size - 24) / (16 + frame); "?" if not whole."""
    try:
        size = os.path.getsize(path)
    except OSError:
        return None
    if size < 24:
        return 0
    return (size - 24) // (16 + frame) if (size - 24) % (16 + frame) == 0 else "?"


def pcapng_counts(path):
    """{interface id: enhanced packet blocks} of a pcapng file, None if it is not one (or is cut)."""
    counts = {}
    try:
        with open(path, "rb") as f:
            head = f.read(12)
            if len(head) < 12 or head[:4] != b"\x0a\x0d\x0d\x0a":
                return None
            order = "<" if head[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
            f.seek(0)
            while True:
                h = f.read(12)
                if not h:
                    return counts
                if len(h) < 12:
                    return None
                btype, blen = struct.unpack(order + "II", h[:8])
                if btype == 0x0A0D0D0A:  # a new section may change the byte order
                    order = "<" if h[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
                    blen = struct.unpack(order + "I", h[4:8])[0]
                if blen < 12 or blen % 4:
                    return None
                if btype == 6:
                    iface = struct.unpack(order + "I", h[8:12])[0]
                    counts[iface] = counts.get(iface, 0) + 1
                f.seek(blen - 12, 1)
    except OSError:
        return None


def zst_stream_bytes(path):
    """Bytes of the stream in a .zst file (zstd -dc), None if zstd is missing or fails."""
    z = shutil.which("zstd")
    if not z:
        return None
    n = 0
    with subprocess.Popen([z, "-dcq", path], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as p:
        for chunk in iter(lambda: p.stdout.read(1 << 20), b""):
            n += len(chunk)
    return n if p.returncode == 0 else None


def file_records(path, frame):
    """(records, bytes on disk) of a capture file: pcap, pcapng or pcap + .zst (--compress)."""
    if os.path.exists(path + ".zst"):
        size = os.path.getsize(path + ".zst")
        n = zst_stream_bytes(path + ".zst")
        if n is None:
            return "?", size
        if n < 24:
            return 0, size
        return ((n - 24) // (16 + frame) if (n - 24) % (16 + frame) == 0 else "?"), size
    if not os.path.exists(path):
        return None, None
    if path.endswith(".pcapng"):
        c = pcapng_counts(path)
        return (sum(c.values()) if c is not None else "?"), os.path.getsize(path)
    return pcap_records(path, frame), os.path.getsize(path)


def derive(r):
    """The columns computed from the counts, one arithmetic for every consumer."""
    off, kept, drops, secs = r.get("offered"), r.get("kept"), r.get("drops"), r.get("gen_seconds")
    user, sys_ = r.get("user_ns"), r.get("sys_ns")
    if off is not None and secs:
        r["offered_mpps"] = round(off / secs / 1e6, 4)
    if None not in (off, kept, drops):
        r["unaccounted"] = off - kept - drops
    if off:
        if drops is not None:
            r["drop_pct"] = round(100 * drops / off, 3)
        if kept is not None:
            r["kept_pct"] = round(100 * kept / off, 3)
    if kept is not None and secs:
        r["kept_mpps"] = round(kept / secs / 1e6, 4)
        r["kept_gbps"] = round(kept * (r["frame"] + 24) * 8 / secs / 1e9, 4)
    if r.get("machine_ns") is not None and off:
        r["machine_ns_per_pkt_raw"] = round(r["machine_ns"] / off, 1)
    if user is not None and sys_ is not None and kept:
        r["cpu_ns_per_pkt"] = round((user + sys_) / kept, 1)
        r["user_ns_per_pkt"] = round(user / kept, 1)
        r["sys_ns_per_pkt"] = round(sys_ / kept, 1)
        if user + sys_ > 0:
            r["core_mpps"] = round(1e3 * kept / (user + sys_), 3)
    return r


def cmd_run(log, args):
    a = kv(args)
    arm, frame = a["arm"], int(a["frame"])
    r = {"type": "run", "frame": frame, "rate": a["rate"], "budget": num(a.get("budget")), "arm": arm,
         "rep": num(a.get("rep")), "status": a.get("status", "ok"), "rps": a.get("rps") == "1",
         "rate_pps": num(a.get("rate_pps")), "capture_cpus": a.get("cpus")}
    notes = [a["note"]] if a.get("note") else []
    if r["status"] == "failed" and a.get("arm_err"):
        notes[-1:] = ["%s: %s" % (notes[-1] if notes else "failed", last_line(a["arm_err"]))]
    if r["status"] == "ok":
        packets, grc, arc = int(a["packets"]), int(a.get("grc", 0)), int(a.get("arc", 0))
        g = gen_sum([a["gen"] + ".%d" % i for i in range(64) if os.path.exists(a["gen"] + ".%d" % i)])
        if g is None:
            r["status"] = "failed"
            notes.append("generator: " + last_line(a["gen"] + ".err"))
        else:
            r.update(offered=g["sent"], gen_seconds=round(g["seconds"], 6), generators=g["generators"])
            if grc or g["sent"] != packets:
                notes.append("generator sent %d of %d (exit %d)" % (g["sent"], packets, grc))
        m0, m1 = machine_busy_ns(a.get("stat0", "")), machine_busy_ns(a.get("stat1", ""))
        if m0 is not None and m1 is not None:
            r["machine_ns"] = m1 - m0
        aj = last_json(a["arm_out"]) or {}
        r["user_ns"], r["sys_ns"] = num(aj.get("user_ns")), num(aj.get("sys_ns"))
        if arm == "none":  # the generator alone: nothing kept, nothing dropped by a capture
            kept = kpk = drops = freeze = None
        elif arm in OWN_SOCKET_ARMS:
            kept, kpk, drops, freeze = (num(aj.get(k)) for k in ("kept", "kernel_packets", "drops", "freeze_q"))
        elif arm.startswith("ringcap"):
            st = whole_json(a.get("stats", "")) or {}
            kept, kpk, drops, freeze = (num(st.get(k)) for k in ("captured", "received", "dropped", "freeze_q"))
            r["writer_stalls"] = num(st.get("writer_stalls"))
        else:
            (kept, kpk, drops), freeze = peer_counts(arm, a["arm_err"]), None
        r.update(kept=kept, kernel_packets=kpk, drops=drops, freeze_q=freeze)
        if arm.startswith("ringcap") and arm not in OWN_SOCKET_ARMS:
            st = whole_json(a.get("stats", "")) or {}
            if st.get("compress_bytes_out"):
                r["compress_ratio"] = round(st["compress_bytes_in"] / st["compress_bytes_out"], 3)
            if "-zstd" in arm:
                r["compress_chunks"] = num(st.get("compress_chunks"))
                r["compress_raw_chunks"] = num(st.get("compress_raw_chunks"))
        if a.get("pcap"):
            r["file_packets"], r["file_bytes"] = file_records(a["pcap"], frame)
            if r["file_packets"] is not None and kept is not None and r["file_packets"] != kept:
                notes.append("file holds %s records" % r["file_packets"])
        if arm == "none":
            if r.get("machine_ns") is None:
                r["status"] = "failed"
                notes.append("no /proc/stat reading")
        elif kept is None or r["user_ns"] is None:
            r["status"] = "failed"
            notes.append("arm exit %d: %s" % (arc, last_line(a["arm_err"])))
        elif arc:
            notes.append("arm exit %d" % arc)
        if os.path.exists(a.get("softnet1", "")):
            r["backlog_drops"] = softnet_dropped(a["softnet1"]) - softnet_dropped(a["softnet0"])
        if a.get("cgstat1") and os.path.exists(a["cgstat1"]):
            (n0, t0), (n1, t1) = cgroup_throttle(a["cgstat0"]), cgroup_throttle(a["cgstat1"])
            r["throttled"], r["throttled_ms"] = n1 - n0, round((t1 - t0) / 1e6, 1)
        if arm != "none" and kept is not None and r.get("offered") is not None:
            r["all_kept"] = int(kept == r["offered"] and r.get("file_packets", kept) == kept)
        derive(r)
        base = none_run(log, r) if arm != "none" else None
        if base and base.get("machine_ns_per_pkt_raw") is not None and r.get("machine_ns_per_pkt_raw") is not None:
            r["machine_ns_per_pkt"] = round(r["machine_ns_per_pkt_raw"] - base["machine_ns_per_pkt_raw"], 1)
        if r["status"] == "ok":
            print("    offered %s in %s s, kept %s, dropped %s%s" % (
                r.get("offered"), r.get("gen_seconds"), kept, drops,
                ", throttled %s ms" % r["throttled_ms"] if "throttled_ms" in r else ""), file=sys.stderr)
    if (r["status"] == "failed" or (r["status"] == "ok" and int(a.get("arc", 0)))) and a.get("logs"):
        if os.path.exists(a.get("arm_err", "")):
            shutil.copy(a["arm_err"], a["logs"])
    r["note"] = "; ".join(notes)
    if r["status"] == "failed":
        print("    failed: " + r["note"], file=sys.stderr)
    append(log, r)
    return 0


def cmd_sent(paths):
    g = gen_sum(paths)
    return 0 if g and g["sent"] > 0 else 1


# ---------------------------------------------------------------- summary

def key_of(r):
    return (r["frame"], r["rate"], r.get("budget"), r["arm"])


def summarize(runs):
    groups = {}
    for r in runs:
        groups.setdefault(key_of(r), []).append(r)
    out = []
    for (frame, rate, budget, arm), rs in groups.items():
        ok = [r for r in rs if r["status"] == "ok"]
        s = {"frame": frame, "rate": rate, "budget": budget, "arm": arm, "runs": len(ok),
             "status": "ok" if ok else rs[-1]["status"], "note": "" if ok else rs[-1].get("note", ""),
             "rate_pps": rs[-1].get("rate_pps")}
        for col in STATS:
            vals = sorted(r[col] for r in ok if r.get(col) is not None)
            s[col] = (vals[0], statistics.median(vals), vals[-1]) if vals else (None, None, None)
        # what one core could sustain, from the CPU column's own figures (the cheapest run is the max)
        s["core_mpps"] = tuple(round(1e3 / c, 3) if c else None for c in reversed(s["cpu_ns_per_pkt"]))
        out.append(s)
    return out


def summary_row(s):
    short = {"cpu_ns_per_pkt": "cpu_ns_pkt", "user_ns_per_pkt": "user_ns_pkt", "sys_ns_per_pkt": "sys_ns_pkt",
             "machine_ns_per_pkt": "machine_ns_pkt", "machine_ns_per_pkt_raw": "machine_raw_ns_pkt"}
    row = {k: s[k] for k in ("frame", "rate", "budget", "arm", "runs", "status")}
    for col in STATS:
        for tag, v in zip(("min", "med", "max"), s[col]):
            row["%s_%s" % (short.get(col, col), tag)] = v
    row["note"] = s["note"]
    return row


def csv_value(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return int(v)
    # the CSV stays splittable on commas (shell and awk readers)
    return re.sub(r'[,"\n]', ";", str(v)) if isinstance(v, str) else v


def write_csv(path, rows, fields):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(fields)
        for r in rows:
            w.writerow([csv_value(r.get(k)) for k in fields])


# ------------------------------------------------------------ formatting

def f_num(v, fmt="%.0f"):
    return "-" if v is None else (fmt % v)


def f_ns(v):
    return "-" if v is None else "{:,.0f}".format(v)


def triple(t, fmt, many):
    if t[1] is None:
        return "-"
    if not many or t[0] == t[2]:
        return fmt % t[1]
    return " / ".join(fmt % x for x in t)


class Bench:
    def __init__(self, log):
        ev = read_log(log)
        self.cfg = first(ev, "config")
        if not self.cfg:
            fail("%s has no config line" % log)
        self.disk, self.writer = first(ev, "disk"), first(ev, "writer")
        self.ceilings = [e for e in ev if e["type"] == "ceiling"]
        self.runs = [e for e in ev if e["type"] == "run"]
        self.summary = summarize(self.runs)
        self.host = self.cfg["host"]
        la = text("/proc/loadavg").split()
        self.host["load_end"] = num(la[0]) if la else None
        self.many = self.cfg["repeat"] >= 2
        self.budgets = bool(self.cfg["cpu_budgets"])
        self.failed = sum(1 for r in self.runs if r["status"] == "failed")

    def disk_mpps(self, frame):
        if not self.disk or not self.disk.get("bytes_per_s"):
            return None
        return self.disk["bytes_per_s"] / (frame + 16) / 1e6

    def caption(self):
        c = self.cfg
        return "%s, %s, %s packets per run, %d repeat%s, RPS %s" % (
            self.host["name"], c["date"].replace("T", " ").replace("Z", " UTC"), "{:,}".format(c["packets"]),
            c["repeat"], "" if c["repeat"] == 1 else "s", "on" if c["rps"] else "off")

    def setting_lines(self):
        c, h = self.cfg, self.host
        gens = c["generator_cpus"]
        lines = ["%d frames per run, %d repeat(s), arms taking turns; %s" % (
            c["packets"], c["repeat"],
            "%d generators (ringcap-gen, TX ring + qdisc bypass, %d flows), one on each of CPUs %s" % (
                len(gens), c["flows"], ",".join(map(str, gens))) if len(gens) > 1 else
            "generator (ringcap-gen, TX ring + qdisc bypass, %d flows) on CPU %d" % (c["flows"], gens[0])),
            "single-threaded arms on CPU %d; v3-fanout and ringcap use all %d CPUs as in production "
            "(their thread on a generator's CPU shares it with the generator and the kernel's receive work)"
            % (c["capture_cpu"], h["cpus"]),
            "RPS %s" % ("on: the receiving veth's kernel work runs on the CPUs in rps_cpus (all)" if c["rps"]
                        else "off: the receiver's kernel work runs on the sender's CPU")]
        if self.budgets:
            cg = c["cgroup"] or {}
            lines.append("CPU budgets %s%% of one CPU: the capture process (not the generator) in the cgroup %s "
                         "(%s, period 100 ms), removed at the end" % (
                             ",".join(map(str, c["cpu_budgets"])), cg.get("path"),
                             "cgroup2 cpu.max" if cg.get("kind") == "v2" else "cgroup v1 cpu.cfs_quota_us"))
        if c["quick"]:
            lines.append("--quick: CPU figures (marked *) of %d-packet runs are too short to compare"
                         % c["packets"])
        ring = {"ringcap": "-w /dev/null, its defaults (a 64 MiB ring per worker, one worker per CPU, "
                           "elastic: one receiving at start, more when they fall behind)",
                "ringcap-fixed": "-w /dev/null --workers fixed: every CPU's worker receiving from the start",
                "ringcap-1cpu": "-w /dev/null, one worker on CPU %d, placed like the v3 arm" % c["capture_cpu"],
                "ringcap-2on1": "-w /dev/null, two workers (time-order merge), every thread on CPU %d"
                                % c["capture_cpu"],
                "ringcap-disk": "-w a file in %s (O_DIRECT through io_uring)" % c["disk"],
                "ringcap-disk-1cpu": "the same with one worker on CPU %d" % c["capture_cpu"],
                "ringcap-disk-2on1": "the same as ringcap-2on1, to a file",
                "tcpdump": "-w a file in %s -Z root, libpcap's default -B (2 MiB)" % c["disk"],
                "tcpdump-bigbuf": "the same with -B %d (KiB: ringcap's total ring memory)" % (c["big_mib"] * 1024),
                "netsniff-ng": "--out a file in %s -s -A -S %dMiB -b %d" % (c["disk"], c["big_mib"],
                                                                            c["capture_cpu"]),
                "ringcap-fixed2": "-w /dev/null -T 2 --workers fixed: two workers receiving from the start",
                "ringcap-pcapng": "ringcap-disk in pcapng (--format pcapng)",
                "ringcap-1cpu-pcapng": "ringcap-disk-1cpu in pcapng (--format pcapng)"}
        for a in c["arms"]:
            m = re.match(r"ringcap(-1cpu)?-zstd(\d+)$", a)
            if m:
                ring[a] = "%s with --compress zstd:%s (FILE.zst, one compressing thread, the default)" % (
                    "ringcap-disk-1cpu" if m.group(1) else "ringcap-disk", m.group(2))
        lines += ["%s: %s" % (a, ring[a]) for a in c["arms"] if a in ring]
        return lines

    def machine_lines(self):
        h, c = self.host, self.cfg
        fs = h.get("disk_fs", {})
        lines = ["host %s: %s, %d CPUs (%s)" % (h["name"], h["kernel"], h["cpus"], h["cpu_model"]),
                 "load average (1 min) at start %s, at end %s: other work on this machine skews the figures"
                 % (h.get("load_start"), h.get("load_end"))]
        for ce in self.ceilings:
            lines.append("generator ceiling, no capture socket, %d-byte frames: %.3f Mpps" % (ce["frame"],
                                                                                          ce["pps"] / 1e6))
        d = self.disk or {}
        where = "%s (%s, %s)" % (c["disk"], fs.get("device"), fs.get("fstype"))
        if d.get("bytes_per_s"):
            lines.append("disk line: %s takes %.3f GB/s, the raw O_DIRECT io_uring rate (ringcap-disk, %d MiB + "
                         "fsync); %s" % (where, d["gbytes_per_s"], c["disk_mib"], "; ".join(
                             "%.3f Mpps of %d-byte frames as pcap records" % (self.disk_mpps(f), f)
                             for f in c["frames"])))
        else:
            lines.append("disk line: %s: not measured (%s)" % (where, d.get("skipped") or d.get("error")))
        w = self.writer or {}
        if w.get("gbytes_per_s"):
            lines.append("writer line: ringcap's writer fed from memory (one appending thread, no network) takes %.3f GB/s "
                         "= %.3f Mpps of 1514-byte records to %s (10 Gbit/s needs 0.813)" % (
                             w["gbytes_per_s"], w.get("mpps", 0), c["disk"]))
        elif w:
            lines.append("writer line: not measured (%s)" % (w.get("skipped") or w.get("error")))
        return lines

    def rate_lines(self):
        out = []
        for f in self.cfg["frames"]:
            for r in self.cfg["rates"]:
                if r.startswith("disk"):
                    pps, why = resolve_rate(self.disk, f, r)
                    out.append("%s at %d B = %s frames/s (%s%% of the disk line %.3f GB/s)" % (
                        r, f, pps, r[4:], self.disk["bytes_per_s"] / 1e9) if pps else
                        "%s at %d B: not run: %s" % (r, f, why))
        return out

    # ---- tables
    def table(self):
        """Header and rows of the results table (strings), shared by text, md and html."""
        star = "*" if self.cfg["quick"] else ""
        rng = " min / med / max" if self.many else ""
        med = " med" if self.many else ""
        head = ["frame B", "rate"] + (["CPU budget"] if self.budgets else []) + [
            "arm", "offered Mpps" + med, "kept %" + rng, "drop %" + med, "kept Mpps" + med,
            "kept Gbit/s" + med, "CPU ns/pkt" + rng, "machine ns/pkt" + rng, "user/sys ns" + med,
            "1-core Mpps" + med]
        rows = []
        for s in self.summary:
            lead = [str(s["frame"]), s["rate"]] + (["%s%%" % s["budget"]] if self.budgets else []) + [s["arm"]]
            if s["status"] != "ok":
                rows.append(lead + [s["status"] + (": " + s["note"] if s["note"] else "")])
                continue
            rows.append(lead + [
                f_num(s["offered_mpps"][1], "%.3f"), triple(s["kept_pct"], "%.2f", self.many),
                f_num(s["drop_pct"][1], "%.2f"), f_num(s["kept_mpps"][1], "%.3f"),
                f_num(s["kept_gbps"][1], "%.3f"),
                triple(s["cpu_ns_per_pkt"], "%.0f", self.many) + star,
                (triple(s["machine_ns_per_pkt"], "%.0f", self.many) if s["arm"] != "none" else
                 "(raw %s)" % f_num(s["machine_ns_per_pkt_raw"][1])) + star,
                "%s/%s" % (f_num(s["user_ns_per_pkt"][1]), f_num(s["sys_ns_per_pkt"][1])),
                f_num(s["core_mpps"][1], "%.2f") + star])
        return head, rows

    def footnotes(self):
        notes = ["kept % = frames the arm read / frames offered; drop % = kernel tp_drops / offered;",
                 "Gbit/s at line rate (frame + 24 B); CPU = user+sys of the capture process per kept frame;",
                 "machine ns/pkt = whole-machine CPU (/proc/stat, all CPUs) per offered frame above the none run "
                 "(the generator alone) of the same repeat; the none row shows its own raw figure;",
                 "1-core Mpps = what one core could sustain at that CPU cost (1e9 / CPU ns per packet)."]
        if self.cfg["quick"]:
            notes.append("* from --quick runs: too short to compare CPU figures.")
        return notes

    def print_text(self, out):
        c = self.cfg
        print(file=out)
        print("ringcap-bench on %s: %s, %d CPUs (%s)" % (self.host["name"], self.host["kernel"], self.host["cpus"],
                                                          self.host["cpu_model"]), file=out)
        print("command: " + c["command"], file=out)
        for l in self.setting_lines() + self.machine_lines()[1:]:
            print(l, file=out)
        print(file=out)
        head, rows = self.table()
        width = [max([len(head[i])] + [len(r[i]) for r in rows if len(r) == len(head)])
                 for i in range(len(head))]
        fmt = lambda cells: "  ".join(cell.ljust(width[i]) if i < len(head) - 1 else cell
                                      for i, cell in enumerate(cells)).rstrip()
        print(fmt(head), file=out)
        for r in rows:
            if len(r) == len(head):
                print(fmt(r), file=out)
            else:  # not installed / failed: frame, rate, budget and arm, then the status line
                print(("  ".join(cell.ljust(width[i]) for i, cell in enumerate(r[:-1])) + "  " + r[-1]).rstrip(),
                      file=out)
        for l in self.rate_lines():
            print(l, file=out)
        print(file=out)
        for l in self.footnotes():
            print(l, file=out)
        floors = self.floor_lines()
        if floors:
            print(file=out)
            print("Against one worker, pcapng against pcap, compressed files (medians of per-run differences; "
                  "the whole-machine column is the one to judge by):", file=out)
            for l in floors:
                print("  " + l, file=out)

    # ---- floors: per-run differences between arms of the same run
    def paired(self, arm, other, col):
        """{(frame, rate, budget): [arm's col - other's col, one per repeat both ran well]}"""
        by = {}
        for r in self.runs:
            if r["status"] == "ok" and r["arm"] in (arm, other) and r.get(col) is not None:
                by.setdefault((r["frame"], r["rate"], r.get("budget"), r.get("rep")), {})[r["arm"]] = r[col]
        out = {}
        for (f, rate, b, _), v in by.items():
            if arm in v and other in v:
                out.setdefault((f, rate, b), []).append((v[arm], v[other]))
        return out

    def floor_lines(self):
        """Each arm against one worker (ringcap-1cpu), each pcapng arm against its pcap arm, and the
        compressed arms' files: medians of per-run differences, with the floors they are held to."""
        out = []
        arms = [a for a in self.cfg["arms"] if a not in ("none", "ringcap-1cpu")]
        cols = (("machine_ns_per_pkt", "whole machine"), ("cpu_ns_per_pkt", "per process"))
        if "ringcap-1cpu" in self.cfg["arms"]:
            for arm in arms:
                for col, what in cols:
                    for (f, rate, b), pairs in sorted(self.paired(arm, "ringcap-1cpu", col).items(), key=str):
                        d = statistics.median(x - y for x, y in pairs)
                        one = statistics.median(y for _, y in pairs)
                        line = "%d B, %s%s, %s: %s %+.0f ns per packet above ringcap-1cpu (%.0f), median of %d " \
                               "per-run difference(s)" % (f, rate, ", budget %s%%" % b if b else "", what, arm, d,
                                                          one, len(pairs))
                        if arm in FLOORS:
                            share, ns = FLOORS[arm]
                            limit = max(share * one, ns)
                            line += "; floor max(%g x %.0f, %d) = %.0f ns: %s" % (
                                share, one, ns, limit, "met" if d <= limit else "NOT met")
                        out.append(line)
        for arm, pcap in PCAPNG_PARTNER.items():
            if arm not in self.cfg["arms"]:
                continue
            if pcap not in self.cfg["arms"]:
                out.append("%s: no %s in this run to compare with (add it to --methods)" % (arm, pcap))
                continue
            for col, what in cols:
                for (f, rate, b), pairs in sorted(self.paired(arm, pcap, col).items(), key=str):
                    pct = [100 * (x - y) / y for x, y in pairs if y > 0]
                    if not pct:
                        continue
                    d = statistics.median(pct)
                    out.append("%d B, %s%s, %s: pcapng (%s) %+.1f%% CPU per packet against pcap (%s), median of "
                               "%d per-run ratio(s); floor +5%%: %s" % (
                                   f, rate, ", budget %s%%" % b if b else "", what, arm, d, pcap, len(pct),
                                   "met" if d <= 5 else "NOT met"))
        for s in self.summary:
            if "-zstd" not in s["arm"] or s["status"] != "ok":
                continue
            rs = [r for r in self.runs if key_of(r) == key_of(s) and r["status"] == "ok"]
            raw = sum(r.get("compress_raw_chunks") or 0 for r in rs)
            chunks = sum(r.get("compress_chunks") or 0 for r in rs)
            ratios = sorted(r["compress_ratio"] for r in rs if r.get("compress_ratio"))
            sizes = sorted(r["file_bytes"] for r in rs if r.get("file_bytes") is not None)
            out.append("%d B, %s, %s: every frame kept in %d of %d run(s); file %s bytes on disk (median), ratio %s; "
                       "%d chunk(s) compressed, %d stored raw (the pool was behind)" % (
                           s["frame"], s["rate"], s["arm"], sum(r.get("all_kept", 0) for r in rs), len(rs),
                           "{:,}".format(statistics.median(sizes)) if sizes else "-",
                           "%.2f" % statistics.median(ratios) if ratios else "-", chunks, raw))
        return out

    # ---- what this shows
    def findings(self):
        out = []
        c = self.cfg
        if c["quick"]:
            out.append("These are --quick runs of %s packets: their CPU figures are too short to compare."
                       % "{:,}".format(c["packets"]))
        by = {}
        for s in self.summary:
            if s["status"] == "ok":
                by.setdefault((s["frame"], s["rate"]), []).append(s)
        for (frame, rate), ss in by.items():
            what = "%d-byte frames, rate %s" % (frame, rate)
            if self.budgets:
                out += self.budget_findings(what, frame, ss)
            else:
                out += self.rate_findings(what, frame, ss)
        for s in self.summary:
            if s["status"] == "ok" and s["rate_pps"] and s["offered_mpps"][1] is not None \
                    and s["offered_mpps"][1] * 1e6 < 0.9 * s["rate_pps"]:
                out.append("%d B, %s: with %s attached the generator offered %.3f Mpps of the %.3f asked: the "
                           "testbed, not the arm, set that rate." % (s["frame"], s["rate"], s["arm"],
                                                                    s["offered_mpps"][1], s["rate_pps"] / 1e6))
        for s in self.summary:
            d = self.disk_mpps(s["frame"])
            if s["status"] == "ok" and d and s["arm"] in PAGE_CACHE_ARMS and (s["kept_mpps"][1] or 0) > d:
                out.append("%s kept %.3f Mpps of %d-byte frames, above the disk line's %.3f: it writes through the "
                           "page cache, which holds a short run of %s packets before the disk sees it."
                           % (s["arm"], s["kept_mpps"][1], s["frame"], d, "{:,}".format(c["packets"])))
        if self.failed:
            out.append("%d run(s) failed: see the table's notes and logs/." % self.failed)
        return out

    def budget_findings(self, what, frame, ss):
        out = []
        ss = [s for s in ss if s["arm"] != "none"]
        if not ss:
            return out
        arms = {}
        for s in ss:
            arms.setdefault(s["arm"], {})[s["budget"]] = s
        budgets = sorted({s["budget"] for s in ss})
        low, high = budgets[0], budgets[-1]
        at_low = ["%s kept %.1f%%" % (a, b[low]["kept_pct"][1]) for a, b in arms.items() if low in b]
        out.append("%s: at %d%% of one CPU %s." % (what, low, ", ".join(at_low)))
        for a, b in arms.items():
            ok_from = None
            for bud in sorted(b, reverse=True):
                if b[bud]["kept_pct"][1] >= 99:
                    ok_from = bud
                else:
                    break
            s_hi = b[max(b)]
            cost = s_hi["cpu_ns_per_pkt"][1]
            need = ""
            if cost and s_hi["offered_mpps"][1]:
                need = ("; at %.0f ns per packet the offered %.3f Mpps need about %.1f%% of one CPU"
                        % (cost, s_hi["offered_mpps"][1], s_hi["offered_mpps"][1] * cost / 10))
            good = [bud for bud in sorted(b) if b[bud]["kept_pct"][1] >= 99]
            if not good:
                out.append("%s kept less than 99%% at every budget up to %d%% (at most %.1f%%)%s." % (
                    a, max(b), max(x["kept_pct"][1] for x in b.values()), need))
            elif ok_from is None:
                out.append("%s kept at least 99%% at %s of one CPU but not at %d%%: other load on the machine, "
                           "or noise (more --repeat tells)%s." % (a, ", ".join("%d%%" % x for x in good), max(b),
                                                                  need))
            else:
                out.append("%s kept at least 99%% from %d%% of one CPU up%s." % (a, ok_from, need))
        # a 64 MiB ring of TPACKET_V3 slots: 82 bytes of header and address before
        # the frame, 8-byte aligned (60 B: 144 per frame); one ring per socket
        per_ring = 64 * 1024 * 1024 // ((frame + 82 + 7) // 8 * 8)
        held = []
        for a in arms:
            if a.startswith(("v3", "ringcap")):
                rings = 1 if a == "v3" or a.endswith("1cpu") else 2 if a.endswith("2on1") else self.host["cpus"]
                if rings * per_ring >= self.cfg["packets"] / 2:
                    share = 100 * rings * per_ring // self.cfg["packets"]
                    held.append("%s %s frames (%s)" % (a, "{:,}".format(rings * per_ring), "the whole run"
                                                       if share >= 100 else "%d%% of the run" % share))
        if held:
            out.append("The rings of 64 MiB hold %s of %d B: a ring arm can take in that much and read it after "
                       "the sender stops, so at a low budget kept %% shows what it buffers as well as what it "
                       "sustains (more --packets separates the two)." % ("; ".join(held), frame))
        return out

    def rate_findings(self, what, frame, ss):
        out = []
        low = [s for s in ss if s["kept_pct"][1] is not None and s["kept_pct"][1] < 99]
        if not low:
            top = max((s["offered_mpps"][1] or 0) for s in ss)
            out.append("%s: every method kept at least 99%% (offered up to %.3f Mpps): at this load the methods "
                       "differ in CPU per packet, not in what they keep (--cpu-budget shows where that matters)."
                       % (what, top))
        else:
            out.append("%s: %s." % (what, ", ".join("%s kept %.1f%% of %.3f Mpps offered" % (
                s["arm"], s["kept_pct"][1], s["offered_mpps"][1] or 0) for s in low)))
        cpu = [s for s in ss if s["cpu_ns_per_pkt"][1]]
        if len(cpu) >= 2:
            lo = min(cpu, key=lambda s: s["cpu_ns_per_pkt"][1])
            hi = max(cpu, key=lambda s: s["cpu_ns_per_pkt"][1])
            out.append("%s: CPU per kept packet from %s %s ns (one core: %.2f Mpps) to %s %s ns (%.2f Mpps), "
                       "%.1f times as much." % (what, lo["arm"], f_ns(lo["cpu_ns_per_pkt"][1]),
                                                lo["core_mpps"][1] or 0, hi["arm"], f_ns(hi["cpu_ns_per_pkt"][1]),
                                                hi["core_mpps"][1] or 0,
                                                hi["cpu_ns_per_pkt"][1] / lo["cpu_ns_per_pkt"][1]))
        mach = [s for s in ss if s["arm"] != "none" and s["machine_ns_per_pkt"][1] is not None]
        base = [s for s in ss if s["arm"] == "none"]
        if mach:
            mach.sort(key=lambda s: s["machine_ns_per_pkt"][1])
            out.append("%s: what each capture cost the whole machine (/proc/stat, all CPUs) above the generator "
                       "alone, per offered packet, median of the per-run differences: %s%s. This counts the "
                       "kernel's delivery into the rings, which the per-process column misses." % (
                           what, ", ".join("%s %s ns" % (s["arm"], f_ns(s["machine_ns_per_pkt"][1])) for s in mach),
                           " (the generator alone: %s ns)" % f_ns(base[0]["machine_ns_per_pkt_raw"][1])
                           if base and base[0]["machine_ns_per_pkt_raw"][1] is not None else ""))
        elif not base and len(ss) >= 1:
            out.append("%s: no none arm, so no whole-machine figure (add none to --methods)." % what)
        return out

    # ---- plots
    def plots(self, out_dir):
        gp = shutil.which("gnuplot")
        if not gp:
            print("bench-report.py: gnuplot not installed: no plots", file=sys.stderr)
            return []
        data = os.path.join(out_dir, "plot-data")
        os.makedirs(data, exist_ok=True)
        made = []
        ok = [s for s in self.summary if s["status"] == "ok" and s["arm"] != "none"]
        for frame in self.cfg["frames"]:
            if self.budgets:
                for rate in self.cfg["rates"]:
                    ss = [s for s in ok if s["frame"] == frame and s["rate"] == rate]
                    if ss:
                        made.append(self.plot(gp, data, out_dir, "kept-vs-budget-%dB-%s" % (frame, rate), ss,
                                              "budget", "kept_pct", "%d-byte frames at %s: kept %% against the "
                                              "capture's CPU budget" % (frame, rate + " frames/s offered"
                                                                        if rate.isdigit() else rate),
                                              "CPU budget (% of one CPU, cgroup)", "kept (% of offered)"))
                continue
            ss = [s for s in ok if s["frame"] == frame]
            if not ss:
                continue
            made.append(self.plot(gp, data, out_dir, "kept-vs-offered-%dB" % frame, ss, "offered_mpps", "kept_mpps",
                                  "%d-byte frames: kept rate against offered rate" % frame,
                                  "offered (Mpps, the generator's measured rate)", "kept (Mpps)", frame=frame))
            made.append(self.plot(gp, data, out_dir, "cpu-vs-offered-%dB" % frame, ss, "offered_mpps",
                                  "cpu_ns_per_pkt", "%d-byte frames: capture process CPU per kept packet" % frame,
                                  "offered (Mpps, the generator's measured rate)", "user+sys CPU ns per kept packet"))
        return [m for m in made if m]

    def plot(self, gp, data, out_dir, name, ss, xcol, ycol, title, xlabel, ylabel, frame=None):
        arms = []
        for s in ss:
            if s["arm"] not in arms:
                arms.append(s["arm"])
        q = lambda t: '"%s"' % t.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        bars = " (median, min-max bars)" if self.many else " (one run per point)"
        lines = ["set terminal pngcairo size 960,640 noenhanced font ',10'",
                 "set output %s" % q(os.path.join(out_dir, name + ".png")),
                 "set title %s" % q(title + bars + "\n" + self.caption()),
                 "set grid", "set key outside below center horizontal maxrows 3 font ',9' samplen 4 spacing 1.3",
                 "set bmargin 7",
                 "set xlabel %s" % q(xlabel), "set ylabel %s" % q(ylabel), "set pointsize 1.6"]
        if xcol == "budget":
            budgets = sorted({s["budget"] for s in ss})
            lines += ["set logscale x", "set xrange [%g:%g]" % (budgets[0] / 1.3, budgets[-1] * 1.3),
                      "set xtics (%s)" % ", ".join('"%d%%%%" %d' % (b, b) for b in budgets), "set yrange [0:105]"]
        elif ycol == "cpu_ns_per_pkt":
            lines += ["set logscale y", "set xrange [0:*]", "set offsets graph 0.02, graph 0.05, 0, 0"]
        else:
            lines += ["set xrange [0:*]", "set yrange [0:*]", "set offsets 0, graph 0.05, graph 0.05, 0"]
        parts = []
        if ycol == "kept_mpps":
            parts.append("x title 'keeps all' with lines dashtype 2 lc rgb 'gray'")
            d = self.disk_mpps(frame) if frame else None
            top = max(s["offered_mpps"][1] or 0 for s in ss)
            if d and d < 3 * max(top, 1e-9):
                parts.append("%.4f with lines dashtype 3 lw 2 lc rgb 'black' title 'disk line: raw O_DIRECT rate'" % d)
                lines[2] = "set title %s" % q(title + bars + "\n" + self.caption() + "\nabove the disk line: "
                                              "page-cache writers (tcpdump, netsniff-ng) can exceed it in a short run")
        for i, arm in enumerate(arms):
            dat = os.path.join(data, "%s-%s.dat" % (name, arm))
            pts = sorted((s[xcol] if xcol == "budget" else s[xcol][1], s[ycol]) for s in ss if s["arm"] == arm)
            with open(dat, "w") as f:
                f.write("# %s %s_med %s_min %s_max\n" % (xcol, ycol, ycol, ycol))
                for x, y in pts:
                    if x is not None and y[1] is not None:
                        f.write("%g %g %g %g\n" % (x, y[1], y[0], y[2]))
            col, dt, pt = STYLES.get(arm, ("#333333", "1", 1 + i % 14))
            style = ("yerrorlines" if self.many else "linespoints")
            parts.append("%s using 1:2%s with %s lw 2 lc rgb '%s' dashtype %s pt %d ps %.2f title %s" % (
                q(dat), ":3:4" if self.many else "", style, col, dt, pt, max(0.7, 2.6 - 0.3 * i), q(arm)))
        lines.append("plot " + ", \\\n     ".join(parts))
        script = os.path.join(data, name + ".gp")
        with open(script, "w") as f:
            f.write("\n".join(lines) + "\n")
        r = subprocess.run([gp, script], capture_output=True, text=True)
        if r.returncode != 0:
            print("bench-report.py: gnuplot failed on %s: %s" % (script, r.stderr.strip().splitlines()[-1:]),
                  file=sys.stderr)
            return None
        return name + ".png"

    # ---- report documents
    def document(self, images):
        c = self.cfg
        head, rows = self.table()
        doc = [("h1", "ringcap-bench report"), ("p", self.caption()),
               ("h2", "Machine"), ("ul", self.machine_lines()),
               ("h2", "Command"), ("pre", c["command"]),
               ("ul", self.setting_lines()),
               ("h2", "What this shows"), ("ul", self.findings() or ["no run succeeded."]),
               ("h2", "Results"), ("table", head, rows), ("ul", self.rate_lines() + self.footnotes())]
        if self.floor_lines():
            doc += [("h2", "Against one worker, pcapng against pcap, compressed files"),
                    ("ul", self.floor_lines())]
        if images:
            doc.append(("h2", "Plots"))
            doc += [("img", i) for i in images]
        doc += [("h2", "Columns of runs.csv"), ("table", ["column", "meaning"], [list(x) for x in COLUMNS])]
        return doc

    @staticmethod
    def markdown(doc):
        out = []
        cell = lambda s: str(s).replace("|", "\\|")
        for b in doc:
            if b[0] in ("h1", "h2"):
                out += ["#" * int(b[0][1]) + " " + b[1], ""]
            elif b[0] == "p":
                out += [b[1], ""]
            elif b[0] == "ul":
                out += ["- " + x for x in b[1]] + [""]
            elif b[0] == "pre":
                out += ["```sh", b[1], "```", ""]
            elif b[0] == "table":
                out.append("| " + " | ".join(cell(h) for h in b[1]) + " |")
                out.append("|" + " --- |" * len(b[1]))
                for r in b[2]:
                    r = r + [""] * (len(b[1]) - len(r)) if len(r) < len(b[1]) else r
                    out.append("| " + " | ".join(cell(x) for x in r) + " |")
                out.append("")
            elif b[0] == "img":
                out += ["![%s](%s)" % (b[1][:-4], b[1]), ""]
        return "\n".join(out)

    @staticmethod
    def html(doc, out_dir):
        e = html.escape
        out = ["<!DOCTYPE html>", "<html><head><meta charset='utf-8'><title>ringcap-bench report</title>",
               "<style>body{font-family:sans-serif;max-width:75em;margin:1em auto;padding:0 1em}"
               "table{border-collapse:collapse;font-size:90%}td,th{border:1px solid #ccc;padding:2px 6px;"
               "text-align:left}pre{background:#f4f4f4;padding:.5em;white-space:pre-wrap}"
               "img{max-width:100%}</style></head><body>"]
        for b in doc:
            if b[0] in ("h1", "h2"):
                out.append("<%s>%s</%s>" % (b[0], e(b[1]), b[0]))
            elif b[0] == "p":
                out.append("<p>%s</p>" % e(b[1]))
            elif b[0] == "ul":
                out.append("<ul>" + "".join("<li>%s</li>" % e(x) for x in b[1]) + "</ul>")
            elif b[0] == "pre":
                out.append("<pre>%s</pre>" % e(b[1]))
            elif b[0] == "table":
                out.append("<table><tr>" + "".join("<th>%s</th>" % e(h) for h in b[1]) + "</tr>")
                for r in b[2]:
                    span = " colspan='%d'" % (len(b[1]) - len(r) + 1) if len(r) < len(b[1]) else ""
                    cells = ["<td>%s</td>" % e(x) for x in r[:-1]] + ["<td%s>%s</td>" % (span, e(r[-1]))]
                    out.append("<tr>" + "".join(cells) + "</tr>")
                out.append("</table>")
            elif b[0] == "img":
                with open(os.path.join(out_dir, b[1]), "rb") as f:
                    data = base64.b64encode(f.read()).decode()
                out.append("<p><img alt='%s' src='data:image/png;base64,%s'></p>" % (e(b[1]), data))
        out.append("</body></html>")
        return "\n".join(out) + "\n"

    def bench_json(self):
        c = dict(self.cfg)
        strip = lambda r: {k: v for k, v in r.items() if k != "type"}
        resolved = []
        for f in c["frames"]:
            for r in c["rates"]:
                pps, why = resolve_rate(self.disk, f, r)
                e = {"frame": f, "rate": r, "pps": int(pps) if pps and pps != "max" else None}
                if why:
                    e["error"] = why
                resolved.append(e)
        return {
            "bench": "ringcap-bench", "date": c["date"], "command": c["command"], "host": self.host,
            "config": {k: c[k] for k in ("frames", "rates", "packets", "repeat", "arms", "flows", "generator_cpus",
                                         "capture_cpu", "rps", "quick", "disk", "cpu_budgets", "cgroup")},
            "cpu_figures_comparable": not c["quick"],
            "missing": {r["arm"]: r["status"] for r in self.runs if r["status"] not in ("ok", "failed")},
            "ceilings": [{"frame": x["frame"], "pps": x["pps"]} for x in self.ceilings],
            "disk": strip(self.disk) if self.disk and self.disk.get("bytes_per_s") else None,
            "disk_error": (self.disk or {}).get("error") or (self.disk or {}).get("skipped"),
            "writer": strip(self.writer) if self.writer and self.writer.get("gbytes_per_s") else None,
            "rates_resolved": resolved,
            "runs": [strip(r) for r in self.runs],
            "summary": [summary_row(s) for s in self.summary],
            "floors": self.floor_lines(),
        }


def cmd_report(log, out_dir):
    b = Bench(log)
    write_csv(os.path.join(out_dir, "runs.csv"), b.runs, RUN_FIELDS)
    rows = [summary_row(s) for s in b.summary]
    write_csv(os.path.join(out_dir, "summary.csv"), rows, list(rows[0]) if rows else ["frame"])
    with open(os.path.join(out_dir, "bench.json"), "w") as f:
        json.dump(b.bench_json(), f, indent=1)
        f.write("\n")
    images = b.plots(out_dir)
    doc = b.document(images)
    with open(os.path.join(out_dir, "report.md"), "w") as f:
        f.write(b.markdown(doc))
    with open(os.path.join(out_dir, "report.html"), "w") as f:
        f.write(b.html(doc, out_dir))
    b.print_text(sys.stdout)
    print("results: %s/{runs.csv,summary.csv,bench.json,bench.jsonl,report.md,report.html}%s" % (
        out_dir, ", %d plots" % len(images) if images else ""))
    return 3 if b.failed else 0


# --------------------------------------------------- compress-bench.sh

def cmd_compress(runs):
    """bench/compress-bench.sh's table from PAYLOAD:LEVEL:JSON arguments (level 0: the plain run of that
    payload, the base of the compressor's share)."""
    plain, rows = {}, []
    for arg in runs:
        payload, level, path = arg.split(":", 2)
        j = last_json(path)
        if not j:
            fail("compress: no JSON line in %s" % path)
        if level == "0":
            plain[payload] = j
        else:
            rows.append((int(level), payload, j))
    head = ["level", "payload", "file ratio", "zstd ratio", "raw chunks", "CPU ns/pkt", "compressor ns/pkt",
            "GB/s per core", "stream GB/s"]
    out = []
    for level, payload, j in sorted(rows, key=lambda x: (x[0], x[1])):
        chunks, raw = j.get("compress_chunks") or 0, j.get("compress_raw_chunks") or 0
        stream, disk, pk = j.get("stream_bytes") or 0, j.get("bytes") or 0, j.get("packets") or 0
        share = chunks / (chunks + raw) if chunks + raw else 0.0
        # the compressed chunks alone: raw chunks are stored 1:1 (and a few header bytes)
        zin, zout = stream * share, disk - stream * (1 - share)
        base = plain.get(payload, {}).get("cpu_ns_per_pkt")
        comp = j["cpu_ns_per_pkt"] - base if base is not None else None
        core = zin / (comp * pk) if comp and comp > 0 and pk else None  # bytes per ns = GB/s
        out.append([str(level), payload, "%.2f" % j.get("ratio", 0), "%.2f" % (zin / zout) if zout > 0 and zin else "-",
                    "%d of %d" % (raw, chunks + raw), "%.0f" % j["cpu_ns_per_pkt"],
                    "%.0f" % comp if comp is not None else "-", "%.3f" % core if core else "-",
                    "%.3f" % j.get("stream_gbytes_per_s", 0)])
    width = [max(len(r[c]) for r in out + [head]) for c in range(len(head))]
    for r in [head] + out:
        print("  ".join(x.ljust(width[c]) for c, x in enumerate(r)).rstrip())
    print("plain writer, no compression, CPU ns/pkt: " + ", ".join(
        "%s %.0f" % (p, j["cpu_ns_per_pkt"]) for p, j in sorted(plain.items())))
    print("file ratio = stream bytes / bytes on disk; zstd ratio = the compressed chunks alone; raw chunks: stored "
          "raw, the pool was behind; CPU = the whole process per packet; compressor = that less the plain run of the "
          "same payload; GB/s per core = stream bytes of the compressed chunks / the compressor's CPU time")
    return 0


# ------------------------------------------------------- tap-bench.sh

def cmd_tap(a):
    """bench/tap-bench.sh's table: per interface sent, captured, dropped, in the file; exit 0 when every
    frame was kept, 3 when some were not, 1 when the run gave no figures."""
    path, stats, ifaces, gens, n0, n1, c0, c1, capinfos, rc = a
    names, gens = ifaces.split(","), gens.split(",")
    st = whole_json(stats) or {}
    per = {i.get("name"): i for i in st.get("interfaces") or []}
    in_file = pcapng_counts(path) or {}
    rows, sent_all, all_kept = [], 0, True
    for k, (name, g) in enumerate(zip(names, gens)):
        j = last_json(g) or {}
        sent, secs = num(j.get("sent")), num(j.get("seconds"))
        i = per.get(name, {})
        cap, drop, ifd = i.get("captured"), i.get("dropped"), i.get("if_dropped")
        filed = in_file.get(k, 0)
        kept = sent is not None and cap == sent and filed == sent
        all_kept &= kept
        sent_all += sent or 0
        rows.append([name, f_num(sent), "%.3f" % (sent / secs / 1e6) if sent and secs else "-", f_num(cap),
                     f_num(drop), f_num(ifd), f_num(filed), "%.2f" % (100.0 * filed / sent) if sent else "-",
                     "yes" if kept else "NO"])
    head = ["interface", "sent", "sent Mpps", "captured", "dropped", "if dropped", "in file", "kept %", "all kept"]
    width = [max(len(r[c]) for r in rows + [head]) for c in range(len(head))]
    for r in [head] + rows:
        print("  ".join(x.rjust(width[c]) if c else x.ljust(width[c]) for c, x in enumerate(r)))
    try:
        size = os.path.getsize(path)
    except OSError:
        size = None
    print("file: %s bytes, %s enhanced packet blocks (bench-report.py)%s" % (
        f_num(size), f_num(sum(in_file.values())), ", capinfos counts %s" % capinfos if capinfos else ""))
    busy = [machine_busy_ns(x) for x in (n0, n1, c0, c1)]
    if None not in busy and sent_all:
        none_ns, cap_ns = (busy[1] - busy[0]) / sent_all, (busy[3] - busy[2]) / sent_all
        print("whole machine (/proc/stat, all CPUs) per frame sent: %.0f ns with ringcap, %.0f ns the generators "
              "alone, difference %+.0f ns (generators flat out spin: a floor of the capture's cost)"
              % (cap_ns, none_ns, cap_ns - none_ns))
    ok = st and int(rc) == 0
    print("every frame kept: %s" % ("yes" if all_kept and ok else "NO" if ok else "unknown (ringcap exit %s)" % rc))
    return 1 if not ok else 0 if all_kept else 3


def main(argv):
    if len(argv) < 2:
        fail("usage: see the top of " + argv[0])
    cmd, rest = argv[1], argv[2:]
    try:
        if cmd == "start" and rest:
            return cmd_start(rest[0], rest[1:]) or 0
        if cmd == "line" and len(rest) >= 4:
            return cmd_line(rest[0], rest[1], rest[2:])
        if cmd == "ceiling" and len(rest) >= 2:
            return cmd_ceiling(rest[0], rest[1], rest[2:])
        if cmd == "rate" and len(rest) == 3:
            return cmd_rate(*rest)
        if cmd == "sent":
            return cmd_sent(rest)
        if cmd == "run" and rest:
            return cmd_run(rest[0], rest[1:])
        if cmd == "compress" and rest:
            return cmd_compress(rest)
        if cmd == "tap" and len(rest) == 10:
            return cmd_tap(rest)
        if cmd == "report" and len(rest) == 2:
            return cmd_report(*rest)
    except (KeyError, ValueError) as err:
        fail("%s: bad input: %r" % (cmd, err))
    fail("bad command line: " + " ".join(argv[1:]))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
