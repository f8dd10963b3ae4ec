#!/usr/bin/env python3
"""Benchmark driver for bench/run.sh: connectivity-monitor next to fping and
blackbox_exporter on one simulated network, all in one run.

Every program runs inside network namespaces built by tests/net/topo.sh; no
probe leaves this machine. Figures are reported against their goals, and the
per-probe figures as ratios to the peers measured in the same run.

  bench.py                 the whole benchmark (what run.sh calls)
  bench.py scrape N PORT   (helper) drive blackbox_exporter at N probes/s
  bench.py startup BIN CFG (helper) process start to READY=1, run inside a namespace
  bench.py push            only push's cost: 1,000 targets with and without [push]
                           to a real remote write receiver, and idle with push on
"""
import asyncio
import datetime
import json
import os
import pathlib
import queue
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
BIN = pathlib.Path(os.environ.get("BENCH_BIN", ROOT / "target/release/connectivity-monitor"))
TOPO = ROOT / "tests/net/topo.sh"
CHAIN = ROOT / "tests/net/chain.sh"
REPORT_DAYS = int(os.environ.get("BENCH_REPORT_DAYS", 365))
# The figures; the environment may shrink them for a quick trial run.
WINDOW = int(os.environ.get("BENCH_WINDOW", 60))  # seconds each program runs with many targets
N_TARGETS = int(os.environ.get("BENCH_TARGETS", 1000))
# Set to 0 to bill the simulated network's forwarding and replies to the prober, as before.
THREADED_NAPI = os.environ.get("BENCH_THREADED_NAPI", "1") == "1"
IDLE_SECONDS = int(os.environ.get("BENCH_IDLE", 300))
CUTS = int(os.environ.get("BENCH_CUTS", 20))
CLK_TCK = os.sysconf("SC_CLK_TCK")


def sh(*args, check=True, **kw):
    return subprocess.run([str(a) for a in args], check=check, capture_output=True, text=True, **kw)


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ---------------------------------------------------------------- the network

class Topo:
    """A namespace network from tests/net/topo.sh, with servers in its internet."""

    def __init__(self, prefix):
        self.p = prefix
        self.procs = []
        sh("bash", TOPO, "up", prefix)

    def ns(self, which):
        return f"{self.p}-{which}"

    def spawn(self, which, *cmd, **kw):
        p = subprocess.Popen(["ip", "netns", "exec", self.ns(which), *map(str, cmd)], **kw)
        self.procs.append(p)
        return p

    def servers(self, dns_addrs, extra_lo=()):
        for a in extra_lo:
            sh("ip", "-n", self.ns("net"), "addr", "add", f"{a}/32", "dev", "lo")
        self.spawn("net", "dnsmasq", "--keep-in-foreground", "--log-facility=/dev/null", "--no-resolv",
                   "--no-hosts", "--conf-file=/dev/null", f"--listen-address={','.join(dns_addrs)}",
                   "--bind-interfaces", "--address=/example.com/198.51.100.80",
                   "--address=/example.test/198.51.100.80", "--pid-file=", "--user=root",
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.spawn("net", "python3", "-m", "http.server", "--bind", "198.51.100.80", "80",
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.spawn("net", "python3", "-c",
                   "import socket\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n"
                   "s.bind(('0.0.0.0',443))\ns.listen(128)\nwhile True:\n c,_=s.accept(); c.close()",
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1)  # a benchmark, not a test: servers get a moment to bind

    def cut(self, link):
        sh("bash", TOPO, "cut", link, self.p)

    def restore(self, link):
        sh("bash", TOPO, "restore", link, self.p)

    def down(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        sh("bash", TOPO, "down", self.p, check=False)


def target_addrs(n):
    out, i = [], 0
    while len(out) < n:
        i += 1
        hi, lo = divmod(i, 256)
        if lo in (0, 255):
            continue
        out.append(f"198.18.{hi}.{lo}")
    return out


def cpu_seconds(pid):
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def status_kib(pid, key):
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def echo_counter(topo):
    out = sh("ip", "netns", "exec", topo.ns("net"), "nft", "-j", "list", "counter", "inet", "bench", "echoreq").stdout
    for obj in json.loads(out)["nftables"]:
        if "counter" in obj:
            return obj["counter"]["packets"]
    raise RuntimeError("no counter")


# ------------------------------------------------------ workload 1: 1000 targets

def config_many(tmp, addrs, name="many"):
    """`{tmp}/{name}.toml`: every address a target, checked once a second; its
    logs and state in `{tmp}/{name}/`, so that runs side by side keep apart."""
    # Probing only, as fping and blackbox_exporter do: no path traces (a baseline
    # trace to each of 1,000 targets is not probe work; the idle run keeps them on).
    lines = ["[monitor]", 'interval = "1s"', 'timeout = "500ms"', "pings = 1", 'log_level = "warn"',
             f'log_dir = "{tmp}/{name}/logs"', f'state_dir = "{tmp}/{name}/state"', "", "[path]", "enabled = false", ""]
    for i, a in enumerate(addrs):
        lines += ["[[target]]", f'name = "t{i}"', f'address = "{a}"', 'probes = ["icmp"]', ""]
    path = pathlib.Path(tmp) / f"{name}.toml"
    path.write_text("\n".join(lines))
    return path


def measure(topo, proc, warmup=3):
    """CPU, probes that reached the internet and peak RSS of `proc` over WINDOW seconds."""
    return measure_together([(topo, proc)], warmup)[0]


def measure_together(runs, warmup=3):
    """`measure` for several (topology, process) at once, over the same WINDOW:
    programs compared run side by side, so a shared machine's slow moments
    fall on each of them alike instead of on whichever ran at the time."""
    time.sleep(warmup)
    for topo, proc in runs:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited early: {proc.args}")
        sh("ip", "netns", "exec", topo.ns("net"), "nft", "reset", "counter", "inet", "bench", "echoreq")
    c0, t0 = [cpu_seconds(proc.pid) for _, proc in runs], time.monotonic()
    time.sleep(WINDOW)
    c1, t1 = [cpu_seconds(proc.pid) for _, proc in runs], time.monotonic()
    out = []
    for (topo, proc), a, b in zip(runs, c0, c1):
        probes = echo_counter(topo)
        out.append({"cpu_s": b - a, "seconds": t1 - t0, "probes": probes,
                    "peak_rss_kib": status_kib(proc.pid, "VmHWM"), "cpu_per_1000": (b - a) / max(probes, 1) * 1000})
    return out


def workload_many(tmp):
    """Ours and fping, over IPv4 and over IPv6, side by side (each in a network
    of its own, counting its own echoes); then the live view and blackbox_exporter."""
    addrs, addrs6 = target_addrs(N_TARGETS), target_addrs_v6(N_TARGETS)
    tag = os.getpid() % 1000
    topos = []
    try:
        for prefix, a, v6 in [("bm", addrs, False), ("bf", addrs, False), ("b6", addrs6, True), ("bg", addrs6, True)]:
            topos.append(many_topo(f"{prefix}{tag}", a, v6=v6))
        topo, topo_fp, topo6, topo6_fp = topos
        targets_file = pathlib.Path(tmp) / "targets.txt"
        targets_file.write_text("\n".join(addrs) + "\n")
        targets6_file = pathlib.Path(tmp) / "targets6.txt"
        targets6_file.write_text("\n".join(addrs6) + "\n")
        fping = ["fping", "-l", "-p", "1000", "-i", "1", "-q", "-f"]
        log(f"many targets: connectivity-monitor and fping -l -p 1000, over IPv4 and IPv6, {N_TARGETS} targets, "
            f"side by side, {WINDOW}s")
        procs = [
            topo.spawn("mon", BIN, "run", "-c", config_many(tmp, addrs), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
            topo_fp.spawn("mon", *fping, targets_file, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
            topo6.spawn("mon", BIN, "run", "-c", config_many(tmp, addrs6, "many6"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
            topo6_fp.spawn("mon", "fping", "-6", *fping[1:], targets6_file, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        ]
        try:
            cm, fp, cm6, fp6 = measure_together(list(zip(topos, procs)))
        finally:
            for p in procs:
                p.terminate(); p.wait()
        results = {"connectivity-monitor": cm, "fping": fp, "v6": {"connectivity-monitor": cm6, "fping -6": fp6}}

        log(f"live view: /metrics and MQTT discovery with {N_TARGETS} targets")
        results["live"] = workload_live_many(tmp, topo, addrs)

        log(f"many targets: blackbox_exporter icmp module, scraped at {N_TARGETS}/s, {WINDOW}s")
        bb = pathlib.Path(tmp) / "blackbox.yml"
        bb.write_text("modules:\n  icmp:\n    prober: icmp\n    timeout: 1s\n    icmp:\n      preferred_ip_protocol: ip4\n")
        p = topo.spawn("mon", "prometheus-blackbox-exporter", f"--config.file={bb}",
                       "--web.listen-address=127.0.0.1:9115", "--log.level=warn",
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1)
        scraper = topo.spawn("mon", sys.executable, __file__, "scrape", targets_file, "9115",
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        results["blackbox_exporter"] = measure(topo, p)
        scraper.send_signal(signal.SIGINT)
        scraped = scraper.communicate()[0].strip()
        results["blackbox_exporter"]["scraper"] = scraped
        p.terminate(); p.wait()
        return results
    finally:
        for t in topos:
            t.down()


async def scrape(targets, port):
    """Asks blackbox_exporter to probe every target once a second over keep-alive connections."""
    workers = 64
    ok = fail = 0

    async def worker(mine):
        nonlocal ok, fail
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        next_at = time.monotonic()
        while True:
            for t in mine:
                writer.write(f"GET /probe?module=icmp&target={t} HTTP/1.1\r\nHost: bb\r\n\r\n".encode())
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(re.search(rb"Content-Length: (\d+)", head, re.I).group(1))
                body = await reader.readexactly(length)
                if b"probe_success 1" in body:
                    ok += 1
                else:
                    fail += 1
            next_at += 1.0
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    for _ in range(50):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            await asyncio.sleep(0.1)
    tasks = [asyncio.create_task(worker(targets[i::workers])) for i in range(workers)]
    try:
        await asyncio.gather(*tasks)
    finally:
        print(f"ok={ok} fail={fail}", flush=True)


# ------------------------------------- workloads 2-4: idle, RTT, detection, start-up

def config_example(tmp, name):
    """config.example.toml's probe set, pointed at this network's hosts."""
    text = (ROOT / "config.example.toml").read_text()
    text = text.replace('# hops = ["192.0.2.1"]', 'hops = ["10.0.2.2"]')
    text = text.replace('url = "https://example.com/"', 'url = "http://198.51.100.80/"')
    text = re.sub(r'^log_dir = .*$', f'log_dir = "{tmp}/{name}/logs"', text, flags=re.M)
    text = re.sub(r'^state_dir = .*$', f'state_dir = "{tmp}/{name}/state"', text, flags=re.M)
    path = pathlib.Path(tmp) / f"{name}.toml"
    path.write_text(text)
    return path


def thread_cpu_seconds(pid):
    """CPU seconds of `pid`'s threads alive now, to the microsecond (the scheduler's
    own sum in /proc/PID/task/*/sched), and their ids. /proc/PID/stat counts in
    10 ms ticks: an idle daemon uses about 15 of them in five minutes, so one
    tick either way moved a ratio of two idle runs by 7 %."""
    total, tids = 0.0, set()
    for task in pathlib.Path(f"/proc/{pid}/task").iterdir():
        try:
            for line in (task / "sched").read_text().splitlines():
                if line.startswith("se.sum_exec_runtime"):
                    total += float(line.split(":")[1]) / 1000
                    tids.add(task.name)
        except FileNotFoundError:
            pass
    return total, tids


def watch_idle(pid, seconds=None, every=10):
    """CPU % of process `pid` over `seconds` (IDLE_SECONDS), and its RSS (KiB) sampled `every` s.
    The CPU is the threads' own sum when the same threads lived throughout (a thread
    that ended would take its time with it), else /proc/PID/stat's ticks."""
    seconds = IDLE_SECONDS if seconds is None else seconds
    (f0, tids0), c0, t0 = thread_cpu_seconds(pid), cpu_seconds(pid), time.monotonic()
    rss = []
    while time.monotonic() - t0 < seconds:
        time.sleep(every)
        rss.append(status_kib(pid, "VmRSS"))
    (f1, tids1), c1, t1 = thread_cpu_seconds(pid), cpu_seconds(pid), time.monotonic()
    if tids0 == tids1:
        return (f1 - f0) / (t1 - t0) * 100, rss
    log(f"idle: threads changed ({len(tids0)} -> {len(tids1)}); CPU from ticks")
    return (c1 - c0) / (t1 - t0) * 100, rss


def workload_idle(tmp, topo, out):
    """Idle footprint over IDLE_SECONDS, and the gateway RTT it reports against ping's."""
    cfg = config_example(tmp, "idle")
    p = topo.spawn("mon", BIN, "run", "-c", cfg, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pinger = topo.spawn("mon", "ping", "-n", "-i", "1", "-c", str(IDLE_SECONDS), "10.0.1.1",
                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    time.sleep(2)
    cpu_pct, rss = watch_idle(p.pid)
    hwm = status_kib(p.pid, "VmHWM")
    p.terminate(); p.wait()
    ping_out = pinger.communicate()[0]
    ping_rtts = [float(m) for m in re.findall(r"time=([\d.]+) ms", ping_out)]
    rows = (pathlib.Path(tmp) / "idle/logs/connection_log.csv").read_text().splitlines()[1:]
    daemon_rtts = [float(r.split(",")[2]) for r in rows if r.split(",")[2]]
    out.update({
        "idle_cpu_pct": cpu_pct,
        "idle_rss_kib_max": max(rss), "idle_rss_kib_mean": statistics.mean(rss), "idle_hwm_kib": hwm,
        "rtt_daemon_median_ms": statistics.median(daemon_rtts), "rtt_ping_median_ms": statistics.median(ping_rtts),
        "rtt_samples": (len(daemon_rtts), len(ping_rtts)),
    })


def tod(hms):
    h, m, s = hms.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


def wall_tod(t):
    d = datetime.datetime.fromtimestamp(t)
    return d.hour * 3600 + d.minute * 60 + d.second + d.microsecond / 1e6


def workload_detection(tmp, topo):
    """Cut the WAN CUTS times at random phases; time detection and the recorded start/end."""
    cfg = pathlib.Path(tmp) / "detect.toml"
    template = (ROOT / "tests/net/config.toml").read_text()
    dirs = f'log_dir = "{tmp}/detect/logs"\nstate_dir = "{tmp}/detect/state"\n'
    cfg.write_text(template.replace("[monitor]\n", "[monitor]\n" + dirs, 1))
    p = topo.spawn("mon", BIN, "run", "-c", cfg, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put((time.monotonic(), l)) for l in p.stderr], daemon=True).start()

    def wait_for(text, timeout=15):
        end = time.monotonic() + timeout
        while True:
            at, line = lines.get(timeout=max(0.01, end - time.monotonic()))
            if text in line:
                return at, line

    wait_for("verdict start")
    det, end_det, start_err, end_err = [], [], [], []
    for i in range(CUTS):
        time.sleep(random.uniform(1.0, 2.0))  # a random phase against the 1 s checks
        t_cut, w_cut = time.monotonic(), time.time()
        topo.cut("upstream")
        at, line = wait_for("outage started at")
        det.append(at - t_cut)
        start = tod(re.search(r"outage started at \S+T(\d\d:\d\d:\d\d\.\d+)", line).group(1))
        start_err.append(start - wall_tod(w_cut))
        time.sleep(random.uniform(1.0, 2.0))
        t_res, w_res = time.monotonic(), time.time()
        topo.restore("upstream")
        at, line = wait_for("outage ended")
        end_det.append(at - t_res)
        m = re.search(r"from \S+T(\d\d:\d\d:\d\d\.\d+)\S* to \S+T(\d\d:\d\d:\d\d\.\d+)", line)
        end_err.append(tod(m.group(2)) - wall_tod(w_res))
        log(f"cut {i + 1}/{CUTS}: detected in {det[-1]:.2f}s, start error {start_err[-1]:+.2f}s, end error {end_err[-1]:+.2f}s")
    p.terminate(); p.wait()
    return {"detect_s": det, "end_detect_s": end_det, "start_err_s": start_err, "end_err_s": end_err}


def startup(bin_path, cfg, runs=10):
    """(helper, run inside the namespace) process start to READY=1, `runs` times."""
    times = []
    for i in range(runs):
        d = tempfile.mkdtemp()
        sock_path = os.path.join(d, "notify")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.bind(sock_path)
        s.settimeout(10)
        env = dict(os.environ, NOTIFY_SOCKET=sock_path)
        t0 = time.monotonic()
        p = subprocess.Popen([bin_path, "run", "-c", cfg], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while True:
            msg = s.recv(4096).decode()
            if "READY=1" in msg:
                times.append(time.monotonic() - t0)
                break
        p.terminate(); p.wait()
        s.close()
    print(json.dumps(times))


# ------------------------------------------------------------------- reporting

def timed(cmd):
    """Wall time, CPU seconds and peak RSS (KiB) of one command (and the children
    it waited for). GNU time gives the peak RSS: its own small one is all the
    command inherits, where a fork of this Python process would carry Python's
    peak across exec. The CPU comes from wait4's rusage of GNU time, which
    holds the command's to the microsecond; time's own %U/%S round to 10 ms,
    and a short run would read as no CPU at all."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.monotonic()
        p = subprocess.Popen(["/usr/bin/time", "-f", "%M"] + [str(c) for c in cmd], stdout=out, stderr=err)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.monotonic() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        errors = err.read().decode(errors="replace")
        if p.returncode != 0:
            raise SystemExit(f"bench: {cmd} failed: {errors}")
        return {"wall_s": wall, "cpu_s": ru.ru_utime + ru.ru_stime, "peak_rss_kib": int(errors.strip().splitlines()[-1]),
                "out": out.read().decode(errors="replace")}


def timed_median(cmd, n=3):
    """The run of median wall time out of `n`, with every run's wall time."""
    runs = sorted((timed(cmd) for _ in range(n)), key=lambda r: r["wall_s"])
    return dict(runs[n // 2], walls=[r["wall_s"] for r in runs])


def workload_path():
    """A 10-round trace to a 6-hop target (tests/net/chain.sh), ours and mtr's, in the same run."""
    p = f"bp{os.getpid() % 1000}"
    sh("bash", CHAIN, "up", p)
    try:
        ns = ["ip", "netns", "exec", f"{p}-mon"]
        cfg = pathlib.Path(tempfile.mkdtemp(prefix="cm-bench-path-")) / "c.toml"
        cfg.write_text('[monitor]\ntimeout = "1s"\n[[target]]\nname = "t"\naddress = "198.51.100.1"\n')
        ours = timed(ns + [BIN, "discover", "-c", cfg, "--target", "198.51.100.1", "--rounds", "10", "--json"])
        hops = len(json.loads(ours["out"])["paths"][0]["path"]["hops"])
        mtr = timed(ns + ["mtr", "--report", "--no-dns", "-c", "10", "198.51.100.1"])
        return {"ours": ours, "mtr": mtr, "hops": hops}
    finally:
        sh("bash", CHAIN, "down", p, check=False)


def mosquitto(topo, tmp, port):
    conf = pathlib.Path(tmp) / f"mosquitto-{port}.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    p = topo.spawn("mon", "mosquitto", "-c", conf, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    return p


def workload_live_many(tmp, topo, addrs):
    """/metrics under 50 requests/s for 30 s, and MQTT discovery of every target, with the checks' cadence."""
    broker = mosquitto(topo, tmp, 18831)
    cfg = config_many(tmp, addrs, "live")
    cfg.write_text(cfg.read_text().replace("[path]", '[serve]\nlisten = "127.0.0.1:9792"\n[mqtt]\nurl = "mqtt://127.0.0.1:18831"\n[path]'))
    p = topo.spawn("mon", BIN, "run", "-c", cfg, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(5)
    out = sh("ip", "netns", "exec", topo.ns("mon"), sys.executable, __file__, "load", "9792", "50", "30").stdout
    lat = sorted(json.loads(out))
    rows = (pathlib.Path(tmp) / "live/logs/connection_log.csv").read_text().splitlines()[1:]
    stamps = [datetime.datetime.fromisoformat(r.split(",")[0]) for r in rows]
    gaps = [(b - a).total_seconds() for a, b in zip(stamps, stamps[1:])]
    p.terminate(); p.wait()
    broker.terminate(); broker.wait()
    return {
        "metrics_p99_ms": lat[int(len(lat) * 0.99) - 1] * 1000, "metrics_p50_ms": lat[len(lat) // 2] * 1000,
        "metrics_requests": len(lat), "max_check_spacing_s": max(gaps), "checks": len(rows),
    }


def load(port, rate, seconds):
    """(helper, in the namespace) GET /metrics at `rate`/s for `seconds`; prints the latencies as JSON."""
    import urllib.request
    lat, start = [], time.monotonic()
    n = 0
    while time.monotonic() - start < seconds:
        due = start + n / rate
        time.sleep(max(0.0, due - time.monotonic()))
        t0 = time.monotonic()
        urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
        lat.append(time.monotonic() - t0)
        n += 1
    print(json.dumps(lat))


def workload_idle_live(tmp, topo, out):
    """The idle run again with [serve] and [mqtt] on, beside the plain one."""
    broker = mosquitto(topo, tmp, 18832)
    cfg = config_example(tmp, "idle-live")
    cfg.write_text(cfg.read_text() + '\n[serve]\nlisten = "127.0.0.1:9793"\n[mqtt]\nurl = "mqtt://127.0.0.1:18832"\n')
    p = topo.spawn("mon", BIN, "run", "-c", cfg, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(2)
    cpu_pct, rss = watch_idle(p.pid)
    p.terminate(); p.wait()
    broker.terminate(); broker.wait()
    out.update({"cpu_pct": cpu_pct, "rss_kib_max": max(rss)})


def target_addrs_v6(n):
    return [f"2001:db8:101::{i:x}" for i in range(1, n + 1)]


# IPv6 addresses of config.example.toml's targets, answered in the "everything on" run.
EXAMPLE_V6 = ["2606:4700:4700::1111", "2001:4860:4860::8888", "2620:fe::fe"]


def workload_idle_all(tmp, out):
    """Idle with everything on: config.example.toml's probes (its IPv6 targets answered
    over a dual-stack network, [path] on) with [serve], [mqtt], [push] to a real
    receiver and [heartbeat] to the network's web server, in a network of its own."""
    topo = Topo(f"ba{os.getpid() % 1000}")
    try:
        topo.servers(["1.1.1.1", "9.9.9.9", "198.51.100.53"], extra_lo=["1.1.1.1", "8.8.8.8", "9.9.9.9"])
        sh("bash", TOPO, "dual", topo.p)
        for a in EXAMPLE_V6:
            sh("ip", "-n", topo.ns("net"), "addr", "add", f"{a}/128", "dev", "lo", "nodad")
        broker = mosquitto(topo, tmp, 18833)
        prom = receiver(topo, tmp, "all-idle-receiver")
        cfg = config_example(tmp, "idle-all")
        cfg.write_text(with_push(cfg.read_text(), "all") + '\n[serve]\nlisten = "127.0.0.1:9794"\n'
                       '[mqtt]\nurl = "mqtt://127.0.0.1:18833"\n[heartbeat]\nurl = "http://198.51.100.80/"\nevery = "60s"\n')
        p = topo.spawn("mon", BIN, "run", "-c", cfg, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(2)
        cpu_pct, rss = watch_idle(p.pid)
        p.terminate(); p.wait()
        rows = (pathlib.Path(tmp) / "idle-all/logs/connection_log.csv").read_text().splitlines()[1:]
        out.update({"cpu_pct": cpu_pct, "rss_kib_max": max(rss), "appended": receiver_appended(topo),
                    "checks": len(rows), "ok": sum(1 for r in rows if r.split(",")[1] == "OK")})
        prom.terminate(); prom.wait()
        broker.terminate(); broker.wait()
    finally:
        topo.down()


# ------------------------------------------------------------ push (remote_write)

PUSH_EVERY = os.environ.get("BENCH_PUSH_EVERY", "15s")
PROM_ADDR = "198.51.100.80:9090"


def receiver(topo, tmp, name):
    """A real Prometheus in the topology's internet that only receives remote writes."""
    d = pathlib.Path(tmp) / name
    d.mkdir(parents=True, exist_ok=True)
    (d / "prometheus.yml").write_text("global: {}\n")
    p = topo.spawn("net", "prometheus", f"--config.file={d}/prometheus.yml", f"--storage.tsdb.path={d}/tsdb",
                   f"--web.listen-address={PROM_ADDR}", "--web.enable-remote-write-receiver", "--log.level=warn",
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(150):
        if receiver_appended(topo) is not None:
            return p
        time.sleep(0.2)
    raise RuntimeError("the remote write receiver did not start")


def receiver_appended(topo):
    """Samples the receiver has appended (its own counter), or None while it does not answer."""
    script = ("import urllib.request\nt=urllib.request.urlopen('http://%s/metrics',timeout=2).read().decode()\n"
              "print(sum(float(l.split()[-1]) for l in t.splitlines() if l.startswith('prometheus_tsdb_head_samples_appended_total')))" % PROM_ADDR)
    r = subprocess.run(["ip", "netns", "exec", topo.ns("net"), sys.executable, "-c", script], capture_output=True, text=True)
    return float(r.stdout) if r.returncode == 0 else None


def with_push(text, site):
    return text + (f'\n[push]\nremote_write_url = "http://{PROM_ADDR}/api/v1/write"\nevery = "{PUSH_EVERY}"\n'
                   f'labels = {{ site = "{site}" }}\n')


def many_topo(prefix, addrs, v6=False):
    """A topology whose internet answers `addrs` (IPv6 ones over tests/net/topo.sh dual),
    with an nftables counter of the echo requests."""
    topo = Topo(prefix)
    try:
        if v6:
            sh("bash", TOPO, "dual", topo.p)
        own = "/128 dev lo nodad" if v6 else "/32 dev lo"
        batch = "".join(f"addr add {a}{own}\n" for a in addrs)
        subprocess.run(["ip", "-n", topo.ns("net"), "-batch", "-"], input=batch, text=True, check=True)
        echo = ("ip6 daddr 2001:db8:101::/64 icmpv6 type echo-request" if v6
                else "ip daddr 198.18.0.0/15 icmp type echo-request")
        sh("ip", "netns", "exec", topo.ns("net"), "nft", "-f", "-", input=f"""
table inet bench {{
  counter echoreq {{}}
  chain in {{ type filter hook input priority 0; policy accept;
    {echo} counter name "echoreq"; }}
}}""")
        if THREADED_NAPI:
            # The home router takes the probes in a kernel thread of its own
            # (GRO on turns on veth's NAPI; threaded moves its polling out of
            # softirq). Otherwise the sender's own system call forwards each
            # echo through the simulated routers and builds the target's reply
            # (softirq work runs in whichever task raised it), and that work,
            # about 40 % of a probe here, is billed to the program measured
            # though on a real line it runs on other machines.
            # (veth hands a packet to its peer's NAPI only from a sender without TSO.)
            sh("ip", "netns", "exec", topo.ns("mon"), "ethtool", "-K", "mon0", "tso", "off")
            sh("ip", "netns", "exec", topo.ns("gw"), "ethtool", "-K", "lan0", "gro", "on")
            sh("ip", "netns", "exec", topo.ns("gw"), "sh", "-c", "echo 1 > /sys/class/net/lan0/threaded")
    except BaseException:
        topo.down()
        raise
    return topo


def workload_push_many(tmp):
    """N_TARGETS targets without and with [push] to a real receiver, side by side
    in two networks, twice, the networks swapping roles; medians."""
    addrs = target_addrs(N_TARGETS)
    tag = os.getpid() % 1000
    topos, proms = [], []
    try:
        for prefix in ["bu", "bw"]:
            topos.append(many_topo(f"{prefix}{tag}", addrs))
            proms.append(receiver(topos[-1], tmp, f"{prefix}-receiver"))
        runs = {"off": [], "on": []}
        for i in range(2):
            modes = ["off", "on"] if i == 0 else ["on", "off"]
            log(f"push: {N_TARGETS} targets, push off and on side by side, run {i + 1} of 2, {WINDOW}s")
            procs, before = [], []
            for topo, mode in zip(topos, modes):
                cfg = config_many(tmp, addrs, f"push-{mode}{i}")
                if mode == "on":
                    cfg.write_text(with_push(cfg.read_text(), "many"))
                before.append(receiver_appended(topo))
                procs.append(topo.spawn("mon", BIN, "run", "-c", cfg, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            try:
                measured = measure_together(list(zip(topos, procs)))
            finally:
                for p in procs:
                    p.terminate(); p.wait()
            for topo, mode, r, b in zip(topos, modes, measured, before):
                r["appended"] = receiver_appended(topo) - b
                runs[mode].append(r)
        return runs
    finally:
        for prom in proms:
            prom.terminate(); prom.wait()
        for t in topos:
            t.down()


def workload_idle_push(tmp, topo, out):
    """The idle run again with [push] on, to a real receiver in the same network."""
    prom = receiver(topo, tmp, "push-idle-receiver")
    cfg = config_example(tmp, "idle-push")
    cfg.write_text(with_push(cfg.read_text(), "idle"))
    p = topo.spawn("mon", BIN, "run", "-c", cfg, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(2)
    cpu_pct, rss = watch_idle(p.pid)
    p.terminate(); p.wait()
    out.update({"cpu_pct": cpu_pct, "rss_kib_max": max(rss), "appended": receiver_appended(topo)})
    prom.terminate(); prom.wait()


def push_figures(runs, idle_push):
    """The push goals from the runs: CPU per probe and peak RSS, on against off."""
    med = lambda rs, k: statistics.median(r[k] for r in rs)
    cpu_ratio = med(runs["on"], "cpu_per_1000") / med(runs["off"], "cpu_per_1000")
    rss_delta_mib = (med(runs["on"], "peak_rss_kib") - med(runs["off"], "peak_rss_kib")) / 1024
    idle_mib = idle_push["rss_kib_max"] / 1024
    return [
        ("push_cpu_overhead_1000_targets", (cpu_ratio - 1) * 100, "%", "<=10", cpu_ratio <= 1.10),
        ("push_rss_overhead_1000_targets", rss_delta_mib, "MiB", "<=1", rss_delta_mib <= 1),
        ("idle_rss_with_push", idle_mib, "MiB", "<=8", idle_mib <= 8),
    ]


def push_main():
    """Only the push figures (bench.py push): printed, BENCHMARKS.md untouched."""
    if os.geteuid() != 0:
        sys.exit("bench: needs root (network namespaces)")
    tmp = tempfile.mkdtemp(prefix="cm-bench-push-")
    quiet = Topo(f"bv{os.getpid() % 1000}")
    quiet.servers(["1.1.1.1", "9.9.9.9", "198.51.100.53"], extra_lo=["1.1.1.1", "8.8.8.8", "9.9.9.9"])
    idle = {}
    idle_thread = threading.Thread(target=workload_idle_push, args=(tmp, quiet, idle))
    try:
        log(f"idle with push: example config for {IDLE_SECONDS}s, in the background")
        idle_thread.start()
        runs = workload_push_many(tmp)
        idle_thread.join()
    finally:
        quiet.down()
    for mode in ["off", "on"]:
        for r in runs[mode]:
            print(f"push {mode}: cpu {r['cpu_s']:.2f} s, probes {r['probes']}, cpu per 1000 probes {r['cpu_per_1000']:.4f}, "
                  f"peak RSS {r['peak_rss_kib'] / 1024:.2f} MiB, receiver appended {r['appended']:.0f} samples")
    print(f"idle with push: CPU {idle['cpu_pct']:.3f}%, RSS max {idle['rss_kib_max'] / 1024:.2f} MiB, "
          f"receiver appended {idle['appended']:.0f} samples")
    for name, value, unit, goal, met in push_figures(runs, idle):
        print(f"figure={name} value={value:.4f} unit={unit} goal={goal} met={'yes' if met else 'no'}")


def make_year(tmp):
    """REPORT_DAYS of 10 s checks and 500 outages, as the daemon writes them."""
    logs = pathlib.Path(tmp) / "year/logs"
    logs.mkdir(parents=True)
    start = datetime.datetime(2025, 11, 1, tzinfo=datetime.timezone.utc)
    rnd = random.Random(7)
    n = REPORT_DAYS * 8640
    with open(logs / "connection_log.csv", "w") as f:
        f.write("timestamp,status,gateway_rtt_ms,isp_rtt_ms,targets_up,targets_total,dns_ok,http_ok,loss_pct,detail,internet_rtt_ms,internet_rtt_max_ms\n")
        step = datetime.timedelta(seconds=10)
        at, buf = start, []
        for i in range(n):
            buf.append(f"{at.isoformat()},{'DEGRADED' if i % 997 == 0 else 'OK'},{0.5 + (i % 97) / 50:.3f},{5 + (i % 89) / 10:.3f},3,3,true,true,"
                       f"{(i % 13 == 0) * 10:.1f},gateway 192.168.1.1 answers; 3/3 targets; dns 2/2 servers; http 1/1,{12 + (i % 101) / 7:.3f},{30 + (i % 53) / 3:.3f}\n")
            at += step
            if len(buf) >= 100000:
                f.write("".join(buf)); buf = []
        f.write("".join(buf))
    causes = ["WAN_DOWN", "ISP_DOWN", "LAN_DOWN", "DNS_FAIL", "HTTP_FAIL"]
    with open(logs / "outage_log.csv", "w") as f:
        f.write("date,start_time,end_time,duration_seconds,cause,started_at,ended_at,detail,simulated\n")
        for _ in range(500):
            s = start + datetime.timedelta(seconds=rnd.randrange(0, REPORT_DAYS * 86400))
            d = rnd.randrange(20, 3600)
            e = s + datetime.timedelta(seconds=d)
            f.write(f"{s.date()},{s.time()},{e.time()},{d},{rnd.choice(causes)},{s.isoformat()},{e.isoformat()},gateway answers,false\n")
    cfg = pathlib.Path(tmp) / "year/c.toml"
    cfg.write_text(f'[monitor]\ninterval = "10s"\nlog_dir = "{logs}"\n[[target]]\nname = "a"\naddress = "192.0.2.1"\n')
    return cfg, logs, n


# The same core figures with Python's csv module: what a person would write.
PY_REPORT = r"""
import csv, sys, datetime, collections
logs = sys.argv[1]
def pct(v, p):
    v.sort(); return v[max(0, -(-len(v) * p // 100) - 1)] if v else None
days = collections.defaultdict(lambda: {"n": 0, "gw": [], "inet": [], "loss": []})
last, monitored = None, 0.0
for r in csv.DictReader(open(f"{logs}/connection_log.csv")):
    t = datetime.datetime.fromisoformat(r["timestamp"])
    if last is not None:
        d = (t - last).total_seconds(); monitored += d if d <= 30 else 10
    last = t
    day = days[t.date()]; day["n"] += 1
    if r["gateway_rtt_ms"]: day["gw"].append(float(r["gateway_rtt_ms"]))
    if r["internet_rtt_ms"]: day["inet"].append(float(r["internet_rtt_ms"]))
    if r["loss_pct"]: day["loss"].append(float(r["loss_pct"]))
monitored += 10
down, by = 0, collections.Counter()
for r in csv.DictReader(open(f"{logs}/outage_log.csv")):
    down += int(r["duration_seconds"]); by[r["cause"]] += 1
out = {str(k): (pct(v["gw"], 50), pct(v["inet"], 95), sum(v["loss"]) / max(1, len(v["loss"]))) for k, v in days.items()}
print(100 * (1 - down / monitored), dict(by), len(out))
"""


def workload_report(tmp):
    """`report` on a year of checks in three formats, and the Python csv-module script."""
    cfg, logs, rows = make_year(tmp)
    runs = {}
    for fmt in ["text", "json", "html", "csv"]:
        cmd = [BIN, "report", "-c", cfg, "--format", fmt, "-o", pathlib.Path(tmp) / f"year/report.{fmt}"]
        runs[fmt] = timed_median(cmd) if fmt == "text" else timed(cmd)
    script = pathlib.Path(tmp) / "year/report.py"
    script.write_text(PY_REPORT)
    runs["python"] = timed_median([sys.executable, script, logs])
    return {"rows": rows, "runs": runs}


def main():
    if os.geteuid() != 0:
        sys.exit("bench: needs root (network namespaces)")
    started = time.time()
    tmp = tempfile.mkdtemp(prefix="cm-bench-")
    results = {}
    # Idle (5 min) runs in its own network beside the other workloads; it is
    # measured per process, so their load does not count against it.
    quiet = Topo(f"bq{os.getpid() % 1000}")
    quiet.servers(["1.1.1.1", "9.9.9.9", "198.51.100.53"], extra_lo=["1.1.1.1", "8.8.8.8", "9.9.9.9"])
    idle, idle_live, idle_push, idle_all = {}, {}, {}, {}
    idle_thread = threading.Thread(target=workload_idle, args=(tmp, quiet, idle))
    idle_live_thread = threading.Thread(target=workload_idle_live, args=(tmp, quiet, idle_live))
    idle_push_thread = threading.Thread(target=workload_idle_push, args=(tmp, quiet, idle_push))
    idle_all_thread = threading.Thread(target=workload_idle_all, args=(tmp, idle_all))
    try:
        log(f"idle footprint: example config for {IDLE_SECONDS}s, in the background")
        idle_thread.start()
        idle_live_thread.start()
        idle_push_thread.start()
        idle_all_thread.start()
        many = workload_many(tmp)
        many["push_runs"] = workload_push_many(tmp)
        log("detection latency")
        det_topo = Topo(f"bd{os.getpid() % 1000}")
        det_topo.servers(["198.51.100.53"])
        try:
            detection = workload_detection(tmp, det_topo)
        finally:
            det_topo.down()
        idle_thread.join()
        idle_live_thread.join()
        idle_push_thread.join()
        idle_all_thread.join()
        log("path trace: 10 rounds to a 6-hop target, ours and mtr's")
        path = workload_path()
        log(f"report: {REPORT_DAYS} days of 10 s checks")
        rep = workload_report(tmp)
        log("start-up to READY=1")
        cfg = config_example(tmp, "startup")
        out = sh("ip", "netns", "exec", quiet.ns("mon"), sys.executable, __file__, "startup", BIN, cfg).stdout
        startups = json.loads(out)
    finally:
        quiet.down()
    idle["live"] = idle_live
    idle["push"] = idle_push
    idle["all"] = idle_all
    report(many, idle, detection, startups, path, rep, time.time() - started)


def probe_table(runs):
    """The markdown table of the many-targets runs: a row per program."""
    rows = ["| program | CPU s | probes | CPU s per 1,000 probes | peak RSS MiB |", "|---|---|---|---|---|"]
    for name, r in runs.items():
        rows.append(f"| {name} | {r['cpu_s']:.2f} | {r['probes']} | {r['cpu_per_1000']:.4f} | {r['peak_rss_kib'] / 1024:.1f} |")
    return rows


def report(many, idle, det, startups, path, rep, elapsed):
    live = many.pop("live")
    push_runs = many.pop("push_runs")
    v6 = many.pop("v6")
    ratio_fp6 = v6["connectivity-monitor"]["cpu_per_1000"] / v6["fping -6"]["cpu_per_1000"]
    ratio_v6_v4 = v6["connectivity-monitor"]["cpu_per_1000"] / many["connectivity-monitor"]["cpu_per_1000"]
    ia = idle["all"]
    cm, fp, bb = many["connectivity-monitor"], many["fping"], many["blackbox_exporter"]
    il = idle["live"]
    live_cpu_ratio = il["cpu_pct"] / max(idle["idle_cpu_pct"], 1e-9)
    mib = lambda kib: kib / 1024
    ratio_fp = cm["cpu_per_1000"] / fp["cpu_per_1000"]
    ratio_bb_cpu = cm["cpu_per_1000"] / bb["cpu_per_1000"]
    ratio_bb_rss = cm["peak_rss_kib"] / bb["peak_rss_kib"]
    med_det = statistics.median(det["detect_s"])
    max_start_err = max(abs(e) for e in det["start_err_s"])
    max_end_err = max(abs(e) for e in det["end_err_s"])
    rtt_diff = abs(idle["rtt_daemon_median_ms"] - idle["rtt_ping_median_ms"])
    startup_med = statistics.median(startups) * 1000
    ours, mtr = path["ours"], path["mtr"]
    path_cpu_ratio = ours["cpu_s"] / max(mtr["cpu_s"], 1e-6)
    path_wall_ratio = ours["wall_s"] / mtr["wall_s"]
    rr = rep["runs"]
    text_s = rr["text"]["wall_s"]
    report_rss = max(rr[f]["peak_rss_kib"] for f in ["text", "json", "html", "csv"])
    report_ratio = text_s / rr["python"]["wall_s"]

    figures = [
        ("cpu_per_probe_ratio_vs_fping", ratio_fp, "x", "<=0.5", ratio_fp <= 0.5),
        ("cpu_per_probe_ratio_vs_fping_v6", ratio_fp6, "x", "<=0.5", ratio_fp6 <= 0.5),
        ("cpu_per_icmpv6_probe_ratio_vs_icmpv4", ratio_v6_v4, "x", "<=1.0", ratio_v6_v4 <= 1.0),
        ("peak_rss_1000_targets", mib(cm["peak_rss_kib"]), "MiB", "<=8", mib(cm["peak_rss_kib"]) <= 8),
        ("peak_rss_ratio_vs_blackbox", ratio_bb_rss, "x", "<=0.5", ratio_bb_rss <= 0.5),
        ("idle_rss", mib(idle["idle_rss_kib_max"]), "MiB", "<=8", mib(idle["idle_rss_kib_max"]) <= 8),
        ("idle_cpu", idle["idle_cpu_pct"], "%", "report", True),
        ("median_detection_latency", med_det, "s", "<=2.5", med_det <= 2.5),
        ("max_recorded_start_error", max_start_err, "s", "<=1.0", max_start_err <= 1.0),
        ("max_recorded_end_error", max_end_err, "s", "<=1.0", max_end_err <= 1.0),
        ("rtt_difference_from_ping", rtt_diff, "ms", "<=0.3", rtt_diff <= 0.3),
        ("startup_to_ready", startup_med, "ms", "<=50", startup_med <= 50),
        ("idle_rss_with_serve_and_mqtt", mib(il["rss_kib_max"]), "MiB", "<=8", mib(il["rss_kib_max"]) <= 8),
        ("idle_cpu_ratio_with_serve_and_mqtt", live_cpu_ratio, "x", "<=1.2", live_cpu_ratio <= 1.2),
        ("idle_rss_with_everything_on", mib(ia["rss_kib_max"]), "MiB", "<=8", mib(ia["rss_kib_max"]) <= 8),
        ("metrics_p99_1000_targets_50rps", live["metrics_p99_ms"], "ms", "<=20", live["metrics_p99_ms"] <= 20),
        ("max_check_spacing_during_mqtt_discovery", live["max_check_spacing_s"], "s", "<=1.5", live["max_check_spacing_s"] <= 1.5),
        ("path_trace_cpu_ratio_vs_mtr", path_cpu_ratio, "x", "<=1.0", path_cpu_ratio <= 1.0),
        ("path_trace_wall_ratio_vs_mtr", path_wall_ratio, "x", "report", True),
        ("report_text_year", text_s, "s", "<=1.0", text_s <= 1.0),
        ("report_peak_rss", mib(report_rss), "MiB", "<=64", mib(report_rss) <= 64),
        ("report_time_ratio_vs_python_csv", report_ratio, "x", "report", True),
    ] + push_figures(push_runs, idle["push"])
    nproc = os.cpu_count()
    mem = pathlib.Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
    fmt = lambda v: f"{v:.3g}" if abs(v) < 100 else f"{v:.0f}"
    md = [
        "# Benchmarks",
        "",
        f"Run on {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')} with `sudo bench/run.sh` "
        f"({elapsed / 60:.1f} min), machine: {nproc} cores, {int(mem) // 1024} MiB memory, "
        f"kernel {os.uname().release}. All programs ran in network namespaces of this machine "
        "(tests/net/topo.sh); these machines are shared and noisy, so the ratios between "
        "programs measured in the same run mean more than absolute times.",
        "",
        "## Goals",
        "",
        "| figure | value | goal | met |",
        "|---|---|---|---|",
    ]
    for name, value, unit, goal, met in figures:
        md.append(f"| {name} | {fmt(value)} {unit} | {goal} | {'yes' if met else 'no'} |")
    md += [
        "",
        f"## Many targets: {N_TARGETS} ICMP targets, once a second, {WINDOW} s each",
        "",
        "Probes counted by an nftables counter on the echo requests reaching the targets. Ours and "
        "fping, over IPv4 and over IPv6, ran side by side over the same window, each in a network of "
        "its own, so that the machine's slow moments fall on all four alike; blackbox_exporter ran after. "
        + ("The home router takes the probes in a kernel thread of its own (threaded NAPI), so the simulated routers' "
           "forwarding and the targets' replies are billed to none of the programs." if THREADED_NAPI else
           "The simulated routers' forwarding and the targets' replies run in the sender's system calls and are "
           "billed to it (BENCH_THREADED_NAPI=0)."),
        "",
    ] + probe_table(many) + [
        "",
        f"Ratios (connectivity-monitor / peer): CPU per probe {ratio_fp:.2f}× fping, "
        f"{ratio_bb_cpu:.2f}× blackbox_exporter; peak RSS {ratio_bb_rss:.2f}× blackbox_exporter, "
        f"{cm['peak_rss_kib'] / fp['peak_rss_kib']:.2f}× fping. blackbox scraper: {bb.get('scraper', '')}.",
        "",
        f"The same over IPv6 ({N_TARGETS} targets in 2001:db8:101::/64, tests/net/topo.sh dual):",
        "",
    ] + probe_table(v6) + [
        "",
        f"Ratio: CPU per probe {ratio_fp6:.2f}× fping -6; an ICMPv6 probe of ours costs {ratio_v6_v4:.2f}× "
        "an ICMPv4 one.",
        "",
        f"## Idle: config.example.toml's probes, {IDLE_SECONDS} s",
        "",
        f"CPU {idle['idle_cpu_pct']:.3f}%, RSS max {mib(idle['idle_rss_kib_max']):.2f} MiB "
        f"(mean {mib(idle['idle_rss_kib_mean']):.2f}, VmHWM {mib(idle['idle_hwm_kib']):.2f}). "
        "The HTTPS check points at a plain HTTP server in the namespace (no TLS cost).",
        "",
        f"RTT to the gateway: daemon median {idle['rtt_daemon_median_ms']:.3f} ms, ping median "
        f"{idle['rtt_ping_median_ms']:.3f} ms (samples {idle['rtt_samples'][0]} and {idle['rtt_samples'][1]}).",
        "",
        f"## Detection: interval 1 s, down_after 2, timeout 500 ms, {CUTS} WAN cuts at random phases",
        "",
        "| | min | median | max |",
        "|---|---|---|---|",
    ]
    for label, key in [("cut → outage-start event (s)", "detect_s"), ("restore → outage-end event (s)", "end_detect_s"),
                       ("recorded start − true cut (s)", "start_err_s"), ("recorded end − true restore (s)", "end_err_s")]:
        v = det[key]
        md.append(f"| {label} | {min(v):+.3f} | {statistics.median(v):+.3f} | {max(v):+.3f} |")
    md += [
        "",
        f"Start-up to READY=1 over {len(startups)} starts: median {startup_med:.1f} ms, "
        f"min {min(startups) * 1000:.1f}, max {max(startups) * 1000:.1f}.",
        "",
    ]
    md += [
        f"## Live view with {N_TARGETS} targets: /metrics at 50 requests/s for 30 s, MQTT discovery",
        "",
        f"/metrics latency p50 {live['metrics_p50_ms']:.1f} ms, p99 {live['metrics_p99_ms']:.1f} ms over "
        f"{live['metrics_requests']} requests; the checks kept their 1 s cadence while {N_TARGETS} targets' "
        f"discovery was published (largest spacing {live['max_check_spacing_s']:.2f} s over {live['checks']} checks).",
        "",
        f"Idle with `[serve]` and `[mqtt]` on (same run, same probes): CPU {il['cpu_pct']:.3f}% "
        f"({live_cpu_ratio:.2f}× the plain idle run), RSS max {mib(il['rss_kib_max']):.2f} MiB.",
        "",
        f"## Path trace: 10 rounds to a {path['hops']}-hop target (tests/net/chain.sh)",
        "",
        "| program | wall s | CPU s |",
        "|---|---|---|",
        f"| connectivity-monitor discover | {ours['wall_s']:.2f} | {ours['cpu_s']:.3f} |",
        f"| mtr --report -c 10 | {mtr['wall_s']:.2f} | {mtr['cpu_s']:.3f} |",
        "",
        f"Ratios: wall {path_wall_ratio:.2f}×, CPU {path_cpu_ratio:.2f}× mtr (both wait about a second between rounds). "
        "The idle figures above run config.example.toml, whose `[path]` section is on: a baseline trace per target at start.",
        "",
        f"## report: {rep['rows']:,} checks ({REPORT_DAYS} days at 10 s) and 500 outages",
        "",
        "| run | wall s | CPU s | peak RSS MiB |",
        "|---|---|---|---|",
    ]
    for name, r in rr.items():
        label = "python3 csv-module script (core figures only)" if name == "python" else f"report --format {name}"
        if "walls" in r:
            label += " (median of " + ", ".join(f"{w:.2f}" for w in r["walls"]) + ")"
        md.append(f"| {label} | {r['wall_s']:.2f} | {r['cpu_s']:.2f} | {mib(r['peak_rss_kib']):.1f} |")
    md += ["", f"Ratio: report text takes {report_ratio:.2f}× the time of the Python script, in the same run "
           "(medians of three runs each). CPU s above wall s: the report reads and splits the CSV on a "
           "second thread, which also prepares rows whenever the first one, counting, falls behind.", ""]
    md += [
        f"## Push: {N_TARGETS} targets with and without `[push]` every {PUSH_EVERY} to a real Prometheus receiver",
        "",
        "Off and on side by side, each in a network of its own, twice (the networks swapping roles); "
        "the goals compare the medians (CPU per 1,000 probes, peak RSS).",
        "",
        "| push | CPU s | probes | CPU s per 1,000 probes | peak RSS MiB | samples the receiver appended |",
        "|---|---|---|---|---|---|",
    ]
    for mode in ["off", "on"]:
        for r in push_runs[mode]:
            md.append(f"| {mode} | {r['cpu_s']:.2f} | {r['probes']} | {r['cpu_per_1000']:.4f} | {mib(r['peak_rss_kib']):.2f} | {r['appended']:.0f} |")
    ip = idle["push"]
    md += ["", f"Idle with `[push]` on (config.example.toml's probes, same run): CPU {ip['cpu_pct']:.3f}%, "
           f"RSS max {mib(ip['rss_kib_max']):.2f} MiB.", ""]
    md += [f"## Idle with everything on, {IDLE_SECONDS} s", "",
           "config.example.toml's probes with its IPv6 targets answering (a dual-stack network), `[path]` on, "
           "and `[serve]`, `[mqtt]`, `[push]` (to a real Prometheus receiver) and `[heartbeat]` (to the "
           f"network's web server): CPU {ia['cpu_pct']:.3f}%, RSS max {mib(ia['rss_kib_max']):.2f} MiB; "
           f"{ia['ok']} of {ia['checks']} checks OK, the receiver appended {ia['appended']:.0f} samples.", ""]
    profile = ROOT / "bench/profile.md"
    if profile.exists():
        md += [profile.read_text().rstrip(), ""]
    (ROOT / "BENCHMARKS.md").write_text("\n".join(md))
    print("\n".join(md))
    for name, value, unit, goal, met in figures:
        print(f"figure={name} value={value:.4f} unit={unit} goal={goal} met={'yes' if met else 'no'}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "scrape":
        targets = pathlib.Path(sys.argv[2]).read_text().split()
        try:
            asyncio.run(scrape(targets, int(sys.argv[3])))
        except KeyboardInterrupt:
            pass
    elif len(sys.argv) > 1 and sys.argv[1] == "load":
        load(int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]))
    elif len(sys.argv) > 1 and sys.argv[1] == "push":
        push_main()
    elif len(sys.argv) > 1 and sys.argv[1] == "startup":
        startup(sys.argv[2], sys.argv[3])
    else:
        main()
