#!/usr/bin/env python3
"""Strict checker for the Prometheus text exposition format 0.0.4.

Usage: check-prom.py FILE   (exit 0 if valid, 1 with a message if not)

Checks: every line ends in a newline; HELP/TYPE syntax and escapes (only
\\\\ and \\n in HELP; \\\\, \\" and \\n in label values); at most one HELP and one
TYPE per family, TYPE before the family's samples, samples of a family
contiguous; metric and label names; no repeated label; values are floats
(+Inf, -Inf, NaN spelled that way); counters not negative; histograms have
`le` buckets sorted ascending with cumulative non-decreasing counts, a final
le="+Inf" bucket equal to `_count`, and a `_sum`, per label set.
"""
import math
import re
import sys

METRIC = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


class Bad(Exception):
    pass


def parse_float(s, where):
    if s in ("+Inf", "Inf"):
        return math.inf
    if s == "-Inf":
        return -math.inf
    if s == "NaN":
        return math.nan
    if not re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", s):
        raise Bad(f"{where}: bad float {s!r}")
    return float(s)


def unescape(s, allowed, where):
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c == "\\":
            if i + 1 >= len(s) or s[i + 1] not in allowed:
                raise Bad(f"{where}: bad escape in {s!r}")
            out.append({"\\": "\\", "n": "\n", '"': '"'}[s[i + 1]])
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def parse_labels(s, i, where):
    """Parse `{a="x",b="y"}` starting at s[i] == '{'; return (dict, next index)."""
    labels = {}
    i += 1
    if s[i:i + 1] == "}":
        return labels, i + 1
    while True:
        m = LABEL.match(s, i)
        if not m:
            raise Bad(f"{where}: bad label name")
        name = m.group(0)
        i = m.end()
        if s[i:i + 2] != '="':
            raise Bad(f"{where}: expected =\" after label {name}")
        i += 2
        j = i
        while j < len(s) and s[j] != '"':
            j += 2 if s[j] == "\\" else 1
        if j >= len(s):
            raise Bad(f"{where}: unterminated label value")
        if name in labels:
            raise Bad(f"{where}: repeated label {name}")
        labels[name] = unescape(s[i:j], '\\"n', where)
        i = j + 1
        if s[i:i + 1] == ",":
            i += 1
            if s[i:i + 1] == "}":
                return labels, i + 1
            continue
        if s[i:i + 1] == "}":
            return labels, i + 1
        raise Bad(f"{where}: expected , or }} in labels")


def family_of(name, types):
    for suffix in ("_bucket", "_sum", "_count"):
        base = name[: -len(suffix)]
        if name.endswith(suffix) and types.get(base) in ("histogram", "summary"):
            return base
    return name


def check(text):
    if text and not text.endswith("\n"):
        raise Bad("last line does not end in a newline")
    helps, types, seen, closed = {}, {}, [], set()
    samples = []
    for n, line in enumerate(text.split("\n")[:-1], 1):
        where = f"line {n}"
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                name = parts[2]
                if not METRIC.fullmatch(name):
                    raise Bad(f"{where}: bad metric name {name!r}")
                if name in closed or (seen and seen[-1] != name and name in seen):
                    raise Bad(f"{where}: {parts[1]} for {name} after its samples")
                if parts[1] == "HELP":
                    if name in helps:
                        raise Bad(f"{where}: second HELP for {name}")
                    helps[name] = unescape(parts[3] if len(parts) > 3 else "", "\\n", where)
                else:
                    if name in types:
                        raise Bad(f"{where}: second TYPE for {name}")
                    if any(s[0] == name for s in samples):
                        raise Bad(f"{where}: TYPE after samples of {name}")
                    if len(parts) != 4 or parts[3] not in TYPES:
                        raise Bad(f"{where}: bad TYPE line")
                    types[name] = parts[3]
                if not seen or seen[-1] != name:
                    if seen:
                        closed.add(seen[-1])
                    seen.append(name)
            continue
        if line == "":
            raise Bad(f"{where}: empty line")
        m = METRIC.match(line)
        if not m:
            raise Bad(f"{where}: bad sample name")
        name, i = m.group(0), m.end()
        labels = {}
        if line[i:i + 1] == "{":
            labels, i = parse_labels(line, i, where)
        rest = line[i:]
        if not rest.startswith(" "):
            raise Bad(f"{where}: expected a space before the value")
        fields = rest[1:].split(" ")
        if len(fields) not in (1, 2) or fields[0] == "":
            raise Bad(f"{where}: bad value/timestamp")
        value = parse_float(fields[0], where)
        if len(fields) == 2 and not re.fullmatch(r"-?\d+", fields[1]):
            raise Bad(f"{where}: bad timestamp")
        fam = family_of(name, types)
        if fam in closed:
            raise Bad(f"{where}: samples of {fam} are not contiguous")
        if not seen or seen[-1] != fam:
            if seen:
                closed.add(seen[-1])
            seen.append(fam)
        if types.get(fam) == "counter" and (value < 0 or math.isnan(value)):
            raise Bad(f"{where}: negative counter")
        samples.append((fam, name, labels, value, where))
    check_histograms(types, samples)


def check_histograms(types, samples):
    for fam, kind in types.items():
        if kind != "histogram":
            continue
        series = {}
        for f, name, labels, value, where in samples:
            if f != fam:
                continue
            key = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
            s = series.setdefault(key, {"buckets": [], "sum": None, "count": None})
            if name == fam + "_bucket":
                if "le" not in labels:
                    raise Bad(f"{where}: bucket without le")
                s["buckets"].append((parse_float(labels["le"], where), value, where))
            elif name == fam + "_sum":
                s["sum"] = value
            elif name == fam + "_count":
                s["count"] = value
            else:
                raise Bad(f"{where}: {name} in histogram {fam}")
        if not series:
            continue
        for key, s in series.items():
            b = s["buckets"]
            if not b or b[-1][0] != math.inf:
                raise Bad(f"{fam}{key}: no le=\"+Inf\" bucket last")
            for (le0, c0, _), (le1, c1, w) in zip(b, b[1:]):
                if not le1 > le0:
                    raise Bad(f"{w}: le not increasing")
                if c1 < c0:
                    raise Bad(f"{w}: buckets not cumulative")
            if s["sum"] is None or s["count"] is None:
                raise Bad(f"{fam}{key}: missing _sum or _count")
            if s["count"] != b[-1][1]:
                raise Bad(f"{fam}{key}: _count differs from the +Inf bucket")


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        text = f.read()
    try:
        check(text)
    except Bad as e:
        print(f"invalid exposition: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
