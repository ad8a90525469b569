"""isobench's pure-Python compute kernels.

Run as: python3 compute.py SCALE. Each kernel does a fixed amount of work
(times SCALE) and is timed on its own with time.perf_counter; the script
prints one JSON object per line: first {"python": ..., "implementation":
...}, then one {"kernel", "seconds", "work", "check"} per kernel, where
check is a digest of the kernel's result that is the same on every run of
the same work (a kernel that computed something else shows there).

The kernels are written for isobench and use only the standard library:
  nbody     a five-body gravity simulation (floats, attribute-free loops)
  json      a document encoded and decoded again (json, dict and list)
  regex     patterns searched and substituted in generated text (re)
  dict_str  word counting and string building (dict, str methods)
"""

import hashlib
import json
import re
import sys
import time


def nbody(steps):
    # Bodies: x, y, z, vx, vy, vz, mass; a made-up system, not the solar one.
    bodies = [
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 39.0],
        [4.8, -1.1, -0.1, 0.6, 2.8, -0.02, 0.037],
        [8.3, 4.1, -0.4, -1.0, 1.8, 0.008, 0.011],
        [12.9, -15.1, -0.2, 1.1, 0.8, -0.01, 0.0017],
        [15.3, -25.9, 0.17, 0.97, 0.59, -0.03, 0.002],
    ]
    pairs = [(bodies[i], bodies[j]) for i in range(len(bodies)) for j in range(i + 1, len(bodies))]
    dt = 0.01
    for _ in range(steps):
        for a, b in pairs:
            dx = a[0] - b[0]
            dy = a[1] - b[1]
            dz = a[2] - b[2]
            d2 = dx * dx + dy * dy + dz * dz
            mag = dt / (d2 * d2 ** 0.5)
            bm = b[6] * mag
            am = a[6] * mag
            a[3] -= dx * bm
            a[4] -= dy * bm
            a[5] -= dz * bm
            b[3] += dx * am
            b[4] += dy * am
            b[5] += dz * am
        for body in bodies:
            body[0] += dt * body[3]
            body[1] += dt * body[4]
            body[2] += dt * body[5]
    energy = 0.0
    for i, a in enumerate(bodies):
        energy += 0.5 * a[6] * (a[3] * a[3] + a[4] * a[4] + a[5] * a[5])
        for b in bodies[i + 1:]:
            dx, dy, dz = a[0] - b[0], a[1] - b[1], a[2] - b[2]
            energy -= a[6] * b[6] / (dx * dx + dy * dy + dz * dz) ** 0.5
    return "%.9f" % energy


def json_roundtrip(rounds):
    doc = {
        "runs": [
            {
                "id": i,
                "runtime": ["host", "runc", "runsc", "lxc"][i % 4],
                "ok": i % 7 != 0,
                "samples": [i * 0.5, i * 1.25, i / 3.0],
                "attrs": {"scratch": "rootfs", "note": "trial %d of the cell" % i},
            }
            for i in range(200)
        ],
        "seed": 12345,
    }
    h = hashlib.sha256()
    for _ in range(rounds):
        text = json.dumps(doc, sort_keys=True)
        back = json.loads(text)
        back["seed"] += 1
        doc = back
    h.update(text.encode())
    return h.hexdigest()[:16]


def regex(rounds):
    words = ["isolation", "runtime", "sandbox", "kernel", "latency", "throughput", "namespace", "cgroup"]
    lines = []
    for i in range(400):
        w = words[i % len(words)]
        lines.append("%04d %s=%d.%02d ms at 2024-%02d-%02dT%02d:%02d user%d@host%d.example" % (
            i, w, i % 97, i % 100, 1 + i % 12, 1 + i % 28, i % 24, i % 60, i % 13, i % 5))
    text = "\n".join(lines)
    stamp = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})")
    figure = re.compile(r"\b([a-z]+)=(\d+)\.(\d+) ms\b")
    mail = re.compile(r"\b(\w+)@(\w+)\.example\b")
    found = 0
    out = ""
    for _ in range(rounds):
        found += len(stamp.findall(text))
        found += sum(1 for m in figure.finditer(text) if int(m.group(2)) > 40)
        out = mail.sub(lambda m: m.group(2) + "!" + m.group(1), text)
        found += len(re.split(r"\s+", out))
    return "%d:%s" % (found, hashlib.sha256(out.encode()).hexdigest()[:16])


def dict_str(rounds):
    base = ("the cost of isolation is measured on the same workload from the same image "
            "on the host and in every sandbox and the ratio of the two is reported").split()
    total = 0
    digest = ""
    for r in range(rounds):
        counts = {}
        for i in range(3000):
            w = base[(i * 7 + r) % len(base)]
            key = w.upper() if i % 3 == 0 else w
            counts[key] = counts.get(key, 0) + 1
        parts = []
        for k in sorted(counts):
            parts.append("%s:%d" % (k, counts[k]))
        line = ",".join(parts)
        total += len(line.replace(",", ";").split(";"))
        digest = line[::-1].title()[:64]
    return "%d:%s" % (total, hashlib.sha256(digest.encode()).hexdigest()[:16])


KERNELS = [
    ("nbody", nbody, 40000),
    ("json", json_roundtrip, 150),
    ("regex", regex, 60),
    ("dict_str", dict_str, 150),
]


def main():
    scale = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    if scale < 1:
        raise SystemExit("scale must be at least 1")
    impl = sys.implementation.name
    print(json.dumps({"python": sys.version.split()[0], "implementation": impl}), flush=True)
    for name, kernel, work in KERNELS:
        n = work * scale
        t0 = time.perf_counter()
        check = kernel(n)
        dt = time.perf_counter() - t0
        print(json.dumps({"kernel": name, "seconds": dt, "work": n, "check": check}), flush=True)


if __name__ == "__main__":
    main()
