"""``npu-smi``: list NPU devices and query their state.

    npu-smi                         a table of every device
    npu-smi -L                      one line per device
    npu-smi --query index,memory.used,utilization --format csv
    npu-smi --json                  every field, as JSON
    npu-smi --loop 1 [--count N]    repeat every second (N times)
    npu-smi --help-query            the fields and what they mean

The field names and their meaning are a stable interface (docs/tools.md): new fields may be
added, none is renamed or changes meaning. A value the device or driver does not report is
``null`` in JSON and ``N/A`` in CSV and tables.

The simulated NPU runs inside each process that opens it, so ``npu-smi`` as a command sees
the devices of its own process. To watch a running program, call :func:`query` from inside it
(for example from a thread), which reports the same fields.
"""

from __future__ import annotations

import argparse
import csv
import errno
import io
import json
import sys
import time
from typing import Any

# name -> description; the order is the default column order.
FIELDS: dict[str, str] = {
    "index": "device index in this process (after NPU_VISIBLE_DEVICES)",
    "name": "device name",
    "cores": "NPU cores",
    "sram_per_core": "bytes of SRAM per core",
    "clock_khz": "core clock of the timing model, kHz",
    "memory.total": "bytes of device memory",
    "memory.used": "bytes of device memory allocated by all clients",
    "memory.free": "memory.total - memory.used",
    "utilization": "percent of the sampling interval this process had work on the device",
    "jobs.submitted": "jobs (launches, copies, fills) this process submitted",
    "jobs.completed": "of those, completed",
    "faults": "faults of this process's jobs",
    "resets": "device resets since the device was powered on",
    "clients": "open clients (driver files) of the device",
    "clients.list": "each open client: pid, id, jobs submitted, device memory bytes "
                    "(JSON: objects; CSV and table: pid/id/jobs/bytes, space separated)",
    "firmware_version": "firmware version, major.minor",
    "isa_version": "ISA version, major.minor",
    "libnpu_version": "libnpu version",
}
DEFAULT_TABLE = ["index", "name", "cores", "memory.used", "memory.total", "utilization",
                 "jobs.submitted", "faults", "firmware_version", "isa_version"]


def _clients(dev) -> list[dict[str, Any]] | None:
    """The device's open clients (npu_device_get_client), None if the driver cannot list
    them."""
    from ._core import ffi, lib
    ctx = dev._context()
    info = ffi.new("struct npu_client_stats *")
    info.struct_size = ffi.sizeof("struct npu_client_stats")
    out = []
    for i in range(4096):
        ret = lib.npu_device_get_client(ctx.handle, i, info)
        if ret == -errno.ENOENT:  # NPU_ERROR_NOT_FOUND: past the last client
            break
        if ret != 0:
            return None
        out.append({"pid": info.pid, "id": info.id, "jobs": info.jobs,
                    "memory": info.mem_bytes, "self": bool(info.flags & lib.NPU_CLIENT_SELF)})
    return out


def _row(dev, prev: dict | None) -> dict[str, Any]:
    import npu
    p = dev.properties
    st = dev.stats()
    util = None
    if prev is not None and st["uptime_ns"] > prev["uptime_ns"]:
        util = 100.0 * (st["busy_ns"] - prev["busy_ns"]) / (st["uptime_ns"] - prev["uptime_ns"])
    elif st["uptime_ns"]:
        util = 100.0 * st["busy_ns"] / st["uptime_ns"]
    return {
        "index": dev.index,
        "name": p.name,
        "cores": p.num_cores,
        "sram_per_core": p.sram_per_core,
        "clock_khz": p.clock_khz,
        "memory.total": st["mem_total"],
        "memory.used": st["mem_used"],
        "memory.free": st["mem_total"] - st["mem_used"],
        "utilization": None if util is None else round(min(max(util, 0.0), 100.0), 1),
        "jobs.submitted": st["jobs_submitted"],
        "jobs.completed": st["jobs_completed"],
        "faults": st["faults"],
        "resets": st["resets"],
        "clients": st["clients"],
        "clients.list": _clients(dev),
        "firmware_version": "%d.%d" % p.fw_version,
        "isa_version": "%d.%d" % p.isa_version,
        "libnpu_version": ".".join(map(str, npu.version())),
        "_stats": st,
    }


def query(fields: list[str] | None = None, devices: list[int] | None = None,
          prev: dict | None = None) -> list[dict[str, Any]]:
    """The fields of each device, as dicts (every field when ``fields`` is None). Pass the
    same ``prev`` dict on every call to get ``utilization`` over the interval since the last
    call rather than since the device was opened."""
    import npu
    fields = list(FIELDS) if fields is None else fields
    bad = [f for f in fields if f not in FIELDS]
    if bad:
        raise ValueError(f"unknown field(s) {', '.join(bad)}; see npu-smi --help-query")
    idx = range(npu.device_count()) if devices is None else devices
    out = []
    for i in idx:
        row = _row(npu.Device(i), None if prev is None else prev.get(i))
        if prev is not None:
            prev[i] = row["_stats"]
        out.append({f: row[f] for f in fields})
    return out


def _fmt(v: Any) -> str:
    if isinstance(v, list):  # clients.list
        return " ".join(f"{c['pid']}/{c['id']}/{c['jobs']}/{c['memory']}" for c in v)
    return "N/A" if v is None else str(v)


def _render(rows: list[dict], fields: list[str], fmt: str, header: bool) -> str:
    if fmt == "json":
        return json.dumps({"devices": rows, "timestamp": time.time()}, indent=2)
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        if header:
            w.writerow(fields)
        for r in rows:
            w.writerow([_fmt(r[f]) for f in fields])
        return buf.getvalue().rstrip("\n")
    cells = [[_fmt(r[f]) for f in fields] for r in rows]
    widths = [max([len(f)] + [len(c[i]) for c in cells]) for i, f in enumerate(fields)]
    lines = ["  ".join(f.ljust(w) for f, w in zip(fields, widths))] if header else []
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in cells]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="npu-smi", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-L", "--list", action="store_true", help="list devices, one per line")
    ap.add_argument("-q", "--query", metavar="FIELDS",
                    help="comma-separated fields (see --help-query); default: a summary")
    ap.add_argument("-i", "--id", metavar="INDICES", help="comma-separated device indices")
    ap.add_argument("--format", choices=["table", "csv", "json"], default=None)
    ap.add_argument("--json", action="store_true", help="same as --format json (all fields "
                    "unless --query)")
    ap.add_argument("--noheader", action="store_true", help="no header line (table, csv)")
    ap.add_argument("-l", "--loop", type=float, metavar="SECONDS",
                    help="repeat every SECONDS until interrupted")
    ap.add_argument("-c", "--count", type=int, metavar="N", help="with --loop: stop after N")
    ap.add_argument("--help-query", action="store_true", help="list the fields and exit")
    a = ap.parse_args(argv)

    if a.help_query:
        for f, doc in FIELDS.items():
            print(f"{f:<18} {doc}")
        return 0
    import npu
    fmt = "json" if a.json else (a.format or "table")
    if a.query:
        fields = [f.strip() for f in a.query.split(",") if f.strip()]
    else:
        fields = list(FIELDS) if fmt == "json" else DEFAULT_TABLE
    unknown = [f for f in fields if f not in FIELDS]
    if unknown:
        print(f"npu-smi: unknown field(s) {', '.join(unknown)}; see --help-query",
              file=sys.stderr)
        return 2
    try:
        n = npu.device_count()
        devs = list(range(n)) if not a.id else [int(x) for x in a.id.split(",")]
        for d in devs:
            if not 0 <= d < n:
                print(f"npu-smi: no device {d} ({n} visible)", file=sys.stderr)
                return 2
        if a.list:
            for d in devs:
                dev = npu.Device(d)
                print(f"NPU {d}: {dev.name} ({dev.num_cores} cores, "
                      f"{dev.mem_total // 2**20} MiB, ISA {'%d.%d' % dev.isa_version})")
            return 0
        prev: dict = {}
        k = 0
        while True:
            rows = query(fields, devs, prev)
            print(_render(rows, fields, fmt, header=not a.noheader), flush=True)
            k += 1
            if a.loop is None or (a.count is not None and k >= a.count):
                return 0
            time.sleep(max(a.loop, 0.01))
    except KeyboardInterrupt:
        return 0
    except npu.NpuError as e:
        print(f"npu-smi: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
