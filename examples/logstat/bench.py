#!/usr/bin/env python3
"""logstat benchmark: logstat (1 thread, all threads) against wc -l, mawk,
a naive fgets+strtok C program and GoAccess, on a generated combined log.

bench.py GENLOG LOGSTAT NAIVE WORKDIR [--quick] [--size BYTES]

The input (2 GiB by default) is generated once into WORKDIR (the build
directory; never in git). The page cache is warmed right before each
timing (pages unused for ~60 s get evicted on the benchmark machine). Each
tool runs 3 times; the median wall time is reported as MB/s and as a
ratio to wc -l. Peak anonymous memory (RssAnon, i.e. not the file pages)
of logstat is sampled on the 200 MB prefix and on the whole file.
"""
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time

genlog, logstat, naive, workdir = sys.argv[1:5]
quick = "--quick" in sys.argv
size = 2 << 30
if "--size" in sys.argv:
    size = int(sys.argv[sys.argv.index("--size") + 1])
if quick:
    size = 4 << 20
os.makedirs(workdir, exist_ok=True)
big = os.path.join(workdir, f"bench-{size}.log")
if not os.path.exists(big):
    print(f"generating {size / 2**20:.0f} MiB of combined log into {big} ...", flush=True)
    subprocess.run([genlog, "--size", str(size), "--seed", "42", "--reqtime", "-o", big], check=True)
mid = os.path.join(workdir, f"bench-{size}-200M.log")
slice50 = os.path.join(workdir, f"bench-{size}-50M.log")
for path, n in ((mid, min(200 << 20, size)), (slice50, min(50 << 20, size))):
    if not os.path.exists(path):
        with open(big, "rb") as f, open(path, "wb") as o:
            data = f.read(n)
            o.write(data[: data.rfind(b"\n") + 1])


def warm(path):
    with open(path, "rb") as f:
        while f.read(1 << 24):
            pass


def cpu_children():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(cmd, path, stdin_file=False):
    """Median wall time and median CPU time (user + system) of the runs."""
    times, cpus = [], []
    for _ in range(1 if quick else 3):
        warm(path)
        c = cpu_children()
        t = time.perf_counter()
        if stdin_file:
            with open(path, "rb") as f:
                subprocess.run(cmd, stdin=f, stdout=subprocess.DEVNULL, check=True)
        else:
            subprocess.run(cmd + [path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           check=True)
        times.append(time.perf_counter() - t)
        cpus.append(cpu_children() - c)
    return statistics.median(times), statistics.median(cpus)


def peak_anon(cmd):
    """Run cmd, sampling VmRSS parts from /proc every 5 ms; return peak RssAnon in MiB."""
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    while p.poll() is None:
        try:
            with open(f"/proc/{p.pid}/status") as f:
                for line in f:
                    if line.startswith("RssAnon:"):
                        peak = max(peak, int(line.split()[1]))
        except OSError:
            pass
        time.sleep(0.005)
    return peak / 1024


nproc = os.cpu_count() or 1
mb = os.path.getsize(big) / 1e6
rows = []
wc = timed(["wc", "-l"], big)
rows.append(("wc -l", big, wc))
load = os.getloadavg()[0]
rows.append(("logstat -j 1", big, timed([logstat, "-j", "1", "--no-progress"], big)))
rows.append((f"logstat -j {nproc}", big, timed([logstat, "-j", str(nproc), "--no-progress"], big)))
if shutil.which("mawk"):
    rows.append(("mawk '{c[$9]++}'", big,
                 timed(["mawk", "{c[$9]++} END {for (k in c) print k, c[k]}"], big)))
rows.append(("naive fgets+strtok", big, timed([naive], big)))
if shutil.which("goaccess"):
    rows.append(("goaccess (50 MB slice)", slice50,
                 timed(["goaccess", "--log-format=COMBINED", "--no-global-config", "-o",
                        os.path.join(workdir, "goaccess.json")], slice50, stdin_file=False)))

print(f"\nlogstat benchmark: {mb:.0f} MB combined log ({'quick' if quick else 'full'}), "
      f"{nproc} CPUs, median of {1 if quick else 3} runs, page cache warmed before each, "
      f"load average {load:.1f} at the start")
print("MB/s = MB / wall seconds; CPU MB/s = MB / (user + system) seconds, which a busy "
      "machine disturbs less")
print(f"{'tool':28} {'MB':>6} {'wall s':>8} {'MB/s':>7} {'vs wc':>7} {'CPU s':>8} "
      f"{'CPU MB/s':>9} {'vs wc':>7}")
wc_rate, wc_cpu = mb / wc[0], mb / max(wc[1], 1e-6)
for name, path, (t, c) in rows:
    m = os.path.getsize(path) / 1e6
    rate, crate = m / t, m / max(c, 1e-6)
    print(f"{name:28} {m:6.0f} {t:8.3f} {rate:7.0f} {rate / wc_rate:7.3f} {c:8.3f} "
          f"{crate:9.0f} {crate / wc_cpu:7.3f}")
by = {name: os.path.getsize(path) / 1e6 / t for name, path, (t, c) in rows}
print(f"\nlogstat {nproc} threads / 1 thread: {by[f'logstat -j {nproc}'] / by['logstat -j 1']:.2f}x")
for name in ("mawk '{c[$9]++}'", "naive fgets+strtok", "goaccess (50 MB slice)"):
    if name in by:
        print(f"logstat 1 thread / {name}: {by['logstat -j 1'] / by[name]:.1f}x")
for label, path in (("200 MB", mid), ("whole file", big)):
    warm(path)
    print(f"peak RssAnon, logstat -j {nproc}, {label} ({os.path.getsize(path) / 1e6:.0f} MB): "
          f"{peak_anon([logstat, '-j', str(nproc), '--no-progress', path]):.1f} MiB")
