#!/usr/bin/env python3
"""Build the Cortex-M3 sensor firmware, check it, run it under QEMU.

Usage: run-fw.py --src DIR --build DIR [--demo]

1. Configures (once) and builds the firmware in its own meson cross build
   directory (fw/ with cortex-m3.cross): the host build's compiler cannot
   also be the cross compiler.
2. Checks that no libc symbol is needed: every undefined symbol of every
   object must be defined by another firmware object or be a libgcc helper,
   and the linked ELF has no undefined symbol at all.
3. Prints a size report (text/data/bss) per module, from the linker map, so
   it counts only what survives --gc-sections.
4. Runs it: qemu-system-arm -M mps2-an385 -nographic -semihosting, with
   -icount so that SysTick counts instructions deterministically; QEMU prints
   semihosting output on stderr. The firmware must exit 0.
5. Checks every sample against a double-precision evaluation of the
   datasheet formulas (libiot/docs/rv-env1.md §6) and converts the ISR
   measurements to instructions.

Exit status: 0 pass, 1 fail, 77 (meson's SKIP) when arm-none-eabi-gcc or
qemu-system-arm is not installed.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys

N_SAMPLES = 16
N_POLLED = 4
ICOUNT_SHIFT = 5
QEMU_TIMEOUT = 60
BOUND = (0.501, 0.53, 0.501)  # datasheet §6.3, in LSB

# Which module each object of the map belongs to.
MODULES = [
    ("driver: sensor", "libiot_src_sensor.c.o"),
    ("driver: env1 (decode, compensation)", "libiot_src_env1.c.o"),
    ("driver: bus", "libiot_src_bus.c.o"),
    ("core: ring", "libcore_src_ring.c.o"),
    ("model: mockbus", "libiot_src_mockbus.c.o"),
    ("model: env1-model", "libiot_src_env1-model.c.o"),
    ("model: env1 encoders", "(sections of env1.c)"),
    ("board: bus calls", "(sections of bus.c)"),
    ("firmware: main (port, SysTick)", "main.c.o"),
    ("firmware: startup", "startup.c.o"),
    ("firmware: semihost", "semihost.c.o"),
    ("firmware: mem*", "mem.c.o"),
    ("libgcc", "libgcc.a"),
]


def fail(msg):
    print(f"sensor-fw: FAIL: {msg}")
    sys.exit(1)


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def build(src, bld):
    cross = os.path.join(src, "cortex-m3.cross")
    if not os.path.exists(os.path.join(bld, "build.ninja")):
        r = subprocess.run(["meson", "setup", bld, os.path.join(src, "fw"), "--cross-file", cross],
                           capture_output=True, text=True)
        if r.returncode != 0:
            fail("meson setup:\n" + r.stdout + r.stderr)
    r = subprocess.run(["meson", "compile", "-C", bld], capture_output=True, text=True)
    if r.returncode != 0:
        fail("meson compile:\n" + r.stdout + r.stderr)
    return os.path.join(bld, "sensor-fw.elf")


def check_no_libc(bld, elf):
    objs = []
    for root, _, files in os.walk(bld):
        objs += [os.path.join(root, f) for f in files if f.endswith(".o")]
    defined, undefined = set(), set()
    for o in objs:
        for line in run(["arm-none-eabi-nm", o]).stdout.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] == "U":
                undefined.add(parts[1])
            elif len(parts) == 3 and parts[1] in "TDBR":
                defined.add(parts[2])
    # Linker-script symbols (section bounds) are defined by the link.
    linker = {"_sidata", "_sdata", "_edata", "_sbss", "_ebss", "_estack"}
    foreign = sorted(s for s in undefined - defined - linker if not s.startswith("__aeabi_"))
    if foreign:
        fail("symbols from outside the firmware (libc?): " + ", ".join(foreign))
    left = run(["arm-none-eabi-nm", "-u", elf]).stdout.split()
    if left:
        fail("the linked firmware has undefined symbols: " + " ".join(left))
    helpers = sorted(s for s in undefined - defined - linker)
    print(f"nm: {len(objs)} objects, no libc symbol; libgcc helpers used: "
          f"{', '.join(helpers) if helpers else 'none'}")


def size_report(bld):
    sizes = {name: [0, 0, 0] for name, _ in MODULES}
    sizes["other"] = [0, 0, 0]
    text = open(os.path.join(bld, "sensor-fw.map")).read()
    text = text.split("Linker script and memory map", 1)[1]
    section = None
    pat = re.compile(r"^ (\.[\w.$-]+|COMMON)?\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S+)$")
    for line in text.splitlines():
        m = re.match(r"^ (\.[\w.$-]+|COMMON)\s*$", line)
        if m:
            section = m.group(1)
            continue
        m = pat.match(line)
        if not m:
            continue
        sec = m.group(1) or section
        size = int(m.group(3), 16)
        obj = m.group(4)
        if not sec or size == 0:
            continue
        kind = 0 if sec.startswith((".text", ".rodata", ".vectors")) else \
            1 if sec.startswith(".data") else 2 if sec.startswith((".bss", "COMMON")) else None
        if kind is None:
            continue
        name = next((n for n, key in MODULES if key in obj), "other")
        # rv_bus_init/read/write/get_kind are called by the board (main.c,
        # on the mock), not by the driver.
        if sec in (".text.rv_bus_init", ".text.rv_bus_read", ".text.rv_bus_write",
                   ".text.rv_bus_get_kind"):
            name = "board: bus calls"
        # env1's encoders and standby table serve the device model only.
        if name.startswith("driver: env1") and any(
                f in sec for f in ("_encode", "standby_us", ".rodata")):
            name = "model: env1 encoders"
        sizes[name][kind] += size
    print(f"{'module':34} {'text':>6} {'data':>6} {'bss':>6}")
    for name, _ in MODULES + [("other", "")]:
        t, d, b = sizes[name]
        if t or d or b:
            print(f"{name:34} {t:6} {d:6} {b:6}")
    drv = [sum(sizes[n][k] for n in sizes if n.startswith("driver")) for k in range(3)]
    print(f"{'driver as linked here':34} {drv[0]:6} {drv[1]:6} {drv[2]:6}")
    print(f"{'driver, complete API':34} {complete_driver(bld):6}      0      0"
          "   (every function of sensor.c + what it calls in env1.c, bus.c)")
    return sizes


BOARD_ONLY = (".text.rv_bus_init", ".text.rv_bus_read", ".text.rv_bus_write",
              ".text.rv_bus_get_kind")
MODEL_ONLY = ("_encode", "standby_us")


def complete_driver(bld):
    """Text of the whole driver from the object files (before --gc-sections
    drops what this firmware does not call)."""
    total = 0
    for root, _, files in os.walk(bld):
        for f in files:
            if not f.endswith((".c.o",)) or not any(
                    k in f for k in ("libiot_src_sensor", "libiot_src_env1.c", "libiot_src_bus")):
                continue
            for line in run(["arm-none-eabi-size", "-A", os.path.join(root, f)]).stdout.splitlines():
                parts = line.split()
                if len(parts) < 2 or not parts[0].startswith((".text", ".rodata")):
                    continue
                if parts[0] in BOARD_ONLY or any(m in parts[0] for m in MODEL_ONLY):
                    continue
                total += int(parts[1])
    return total


def reference(cal, adc_t, adc_p, adc_h):
    dt = adc_t - 16.0 * cal["t0"]
    t = 25.0 + cal["t1"] * dt / 2**26 + cal["t2"] * dt * dt / 2**50
    tau = t - 25.0
    dp = adc_p - 2.0**19
    p = (2.0 * cal["p0"] + cal["p1"] * dp / 2**16 + cal["p2"] * dp * dp / 2**40 +
         cal["p3"] * tau / 16 + cal["p4"] * tau * dp / 2**24)
    h = cal["h0"] / 256.0 + cal["h1"] * adc_h / 2**22 + cal["h2"] * tau * adc_h / 2**30
    return (min(max(t * 100, -4000), 8500), min(max(p * 10, 300000), 1100000),
            min(max(h * 100, 0), 10000))


def fields(line):
    return {k: int(v) for k, v in re.findall(r"([\w-]+)=(-?\d+)", line)}


def run_qemu(elf, demo):
    cmd = ["qemu-system-arm", "-M", "mps2-an385", "-nographic", "-monitor", "none",
           "-serial", "none", "-semihosting", "-icount", f"shift={ICOUNT_SHIFT}",
           "-kernel", elf]
    print("run: " + " ".join(cmd))
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=QEMU_TIMEOUT,
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        fail(f"QEMU did not exit within {QEMU_TIMEOUT} s")
    out = r.stderr + r.stdout
    if demo:
        print(out, end="")
    if r.returncode != 0:
        print(out)
        fail(f"firmware exit status {r.returncode}")
    return out


def check_output(out):
    lines = out.splitlines()
    cal = next((fields(line) for line in lines if line.startswith("calib ")), None)
    meas = next((fields(line) for line in lines if line.startswith("calib-loop")), None)
    isr = next((fields(line) for line in lines if line.startswith("isr ")), None)
    samples = [fields(line) for line in lines if line.startswith("sample ")]
    polled = [line for line in lines if line.startswith("polled ")]
    if len(polled) != N_POLLED:
        print(out)
        fail(f"{len(polled)} polled samples, want {N_POLLED}")
    if not cal or not meas or not isr:
        print(out)
        fail("missing calib / measurement / isr lines")
    if len(samples) != N_SAMPLES:
        print(out)
        fail(f"{len(samples)} samples, want {N_SAMPLES}")
    worst = [0.0, 0.0, 0.0]
    for i, s in enumerate(samples):
        if s["seq"] != i:
            fail(f"sample {i} has seq {s['seq']}")
        ref = reference(cal, s["adc_t"], s["adc_p"], s["adc_h"])
        for k, key in enumerate(("temp", "pres", "hum")):
            e = abs(s[key] - ref[k])
            worst[k] = max(worst[k], e)
            if e > BOUND[k]:
                fail(f"sample {i}: {key}={s[key]} but the formula gives {ref[k]:.4f}")
    # Polled sample i measured pattern(i), as conversion i.
    for i, line in enumerate(polled):
        s = fields(line)
        k = i
        ref = reference(cal, 380000 + 9000 * k, 505000 + 2000 * k, 12000 + 3000 * k)
        for j, key in enumerate(("temp", "pres", "hum")):
            if abs(s[key] - ref[j]) > BOUND[j]:
                fail(f"polled {i}: {key}={s[key]} but the formula gives {ref[j]:.4f}")
    print(f"samples: {N_SAMPLES} checked against the double-precision formulas; worst "
          f"error (LSB) temp {worst[0]:.3f} pres {worst[1]:.3f} hum {worst[2]:.3f}")
    # SysTick counts per instruction, from the 2000-instruction loop.
    per = 2000.0 / meas["calib-loop-2000-insns-ticks"]
    mock = meas["mock-read-9-ticks"] * per
    port = meas["port-read-9-ticks"] * per
    lo, hi = isr["ticks-min"] * per, isr["ticks-max"] * per
    print(f"isr: {isr['runs']} runs, {lo:.0f}..{hi:.0f} instructions in total (QEMU icount), "
          f"of which the bus read through the port takes {port:.0f} ({mock:.0f} in the mock "
          f"device model itself)")
    print(f"isr: driver's own work {hi - port:.0f} instructions (worst case)")
    print(f"power: sensor converting {isr['active-us']} us of {isr['elapsed-us']} us "
          f"({100.0 * isr['active-us'] / isr['elapsed-us']:.0f}%), "
          f"{isr['conversions']} conversions for {N_POLLED + N_SAMPLES} samples")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", required=True)
    ap.add_argument("--build", required=True)
    ap.add_argument("--demo", action="store_true")
    a = ap.parse_args()
    missing = [t for t in ("arm-none-eabi-gcc", "qemu-system-arm") if not shutil.which(t)]
    if missing:
        print("sensor-fw: SKIP: not installed: " + ", ".join(missing))
        return 77
    elf = build(a.src, a.build)
    check_no_libc(a.build, elf)
    size_report(a.build)
    out = run_qemu(elf, a.demo)
    check_output(out)
    print("sensor-fw: PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
