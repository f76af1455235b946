"""``npu-smi``: list NPU devices and query their state.

    npu-smi                         a table of the devices every process of yours has open
    npu-smi -L                      one line per device
    npu-smi --query pid,index,memory.used,utilization --format csv
    npu-smi --json                  every field, as JSON
    npu-smi --loop 1 [--count N]    repeat every second (N times)
    npu-smi --self                  this process's own devices instead (opens them)
    npu-smi --help-query            the fields and what they mean

The field names and their meaning are a stable interface (docs/tools.md): new fields may be
added, none is renamed or changes meaning. A value the device or driver does not report is
``null`` in JSON and ``N/A`` in CSV and tables.

The simulated NPU runs inside each process that opens it. Its driver publishes each device's
status (driver uapi 1.2), and by default ``npu-smi`` lists what the processes of this user
publish, through libnpu's ``npu_system_devices()``: :func:`query_system` in Python. With
``--self`` it opens the devices of its own process instead, as :func:`query` does from inside
a program.
"""

from __future__ import annotations

import argparse
import csv
import errno
import io
import json
import os
import sys
import time
from typing import Any

# name -> description; the order is the default column order.
FIELDS: dict[str, str] = {
    "index": "device index in its process (with --self: after NPU_VISIBLE_DEVICES)",
    "name": "device name",
    "cores": "NPU cores",
    "sram_per_core": "bytes of SRAM per core",
    "clock_khz": "core clock of the timing model, kHz",
    "memory.total": "bytes of device memory",
    "memory.used": "bytes of device memory allocated by all clients",
    "memory.free": "memory.total - memory.used",
    "utilization": "percent of the sampling interval the device's process had work on it",
    "jobs.submitted": "jobs (launches, copies, fills) the device's process submitted",
    "jobs.completed": "of those, completed",
    "faults": "faults of the device's process's jobs",
    "resets": "device resets since the device was powered on",
    "clients": "open clients (driver files) of the device",
    "clients.list": "each open client: pid, id, jobs submitted, device memory bytes "
                    "(JSON: objects; CSV and table: pid/id/jobs/bytes, space separated)",
    "firmware_version": "firmware version, major.minor",
    "isa_version": "ISA version, major.minor",
    "libnpu_version": "libnpu version (of this npu-smi; N/A for other processes)",
    "pid": "the process the device is open in",
    "process": "that process's name and command line",
}
DEFAULT_TABLE = ["index", "name", "cores", "memory.used", "memory.total", "utilization",
                 "jobs.submitted", "faults", "firmware_version", "isa_version"]
# The process view names the process first.
DEFAULT_SYSTEM_TABLE = ["pid", "process", "index", "name", "memory.used", "memory.total",
                        "utilization", "jobs.submitted", "jobs.completed", "faults",
                        "clients"]


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
        "pid": os.getpid(),
        "process": _self_process(),
        "_stats": st,
    }


def _self_process() -> str:
    try:
        with open("/proc/self/cmdline", "rb") as f:
            return f.read().rstrip(b"\0").replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return " ".join(sys.argv)


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


# ---- The process view: what the drivers of every process publish -------------------------

def system_devices() -> list[dict[str, Any]]:
    """The devices that the processes of this user have open, as their drivers publish them
    (libnpu ``npu_system_devices``): one dict per device with the raw counters, ordered by
    pid, then index. Opens no device."""
    from ._core import _check, _string
    from ._npu import ffi, lib
    count = ffi.new("uint32_t *")
    n = 16
    while True:
        out = ffi.new("struct npu_system_device[]", n)
        out[0].struct_size = ffi.sizeof("struct npu_system_device")
        _check(lib.npu_system_devices(out, n, count), "npu_system_devices")
        if count[0] <= n:
            break
        n = count[0] + 8   # more appeared than fit: read again with room to spare
    devs = []
    for d in out[0:count[0]]:
        devs.append({
            "pid": d.pid, "index": d.index, "comm": _string(d.process),
            "cmdline": _string(d.cmdline), "name": _string(d.name),
            "num_cores": d.num_cores, "sram_per_core": d.sram_per_core,
            "clock_khz": d.clock_khz, "fw_version": (d.fw_version >> 16, d.fw_version & 0xffff),
            "isa_version": (d.isa_version >> 16, d.isa_version & 0xffff),
            "clients": d.clients, "resets": d.resets, "mem_total": d.mem_total,
            "mem_used": d.mem_used, "jobs_submitted": d.jobs_submitted,
            "jobs_completed": d.jobs_completed, "faults": d.faults, "busy_ns": d.busy_ns,
            "uptime_ns": d.uptime_ns, "start_time_ns": d.start_time_ns,
            "busy": bool(d.flags & lib.NPU_SYSDEV_BUSY),
        })
    return devs


def _system_row(d: dict, prev: dict | None) -> dict[str, Any]:
    util = None
    if prev is not None and d["uptime_ns"] > prev["uptime_ns"]:
        util = 100.0 * (d["busy_ns"] - prev["busy_ns"]) / (d["uptime_ns"] - prev["uptime_ns"])
    elif d["uptime_ns"]:
        util = 100.0 * d["busy_ns"] / d["uptime_ns"]
    return {
        "index": d["index"],
        "name": d["name"],
        "cores": d["num_cores"],
        "sram_per_core": d["sram_per_core"],
        "clock_khz": d["clock_khz"],
        "memory.total": d["mem_total"],
        "memory.used": d["mem_used"],
        "memory.free": d["mem_total"] - d["mem_used"],
        "utilization": None if util is None else round(min(max(util, 0.0), 100.0), 1),
        "jobs.submitted": d["jobs_submitted"],
        "jobs.completed": d["jobs_completed"],
        "faults": d["faults"],
        "resets": d["resets"],
        "clients": d["clients"],
        "clients.list": None,   # a driver query: only a process's own device answers it
        "firmware_version": "%d.%d" % d["fw_version"],
        "isa_version": "%d.%d" % d["isa_version"],
        "libnpu_version": None,
        "pid": d["pid"],
        "process": d["cmdline"] or d["comm"],
    }


def query_system(fields: list[str] | None = None, prev: dict | None = None,
                 pids: list[int] | None = None, devices: list[int] | None = None
                 ) -> list[dict[str, Any]]:
    """The fields of every device the processes of this user have open (every field when
    ``fields`` is None), optionally only those of ``pids`` and device ``devices``. Pass the
    same ``prev`` dict on every call to get ``utilization`` over the interval since the last
    call rather than since the device was powered on."""
    fields = list(FIELDS) if fields is None else fields
    bad = [f for f in fields if f not in FIELDS]
    if bad:
        raise ValueError(f"unknown field(s) {', '.join(bad)}; see npu-smi --help-query")
    out = []
    for d in system_devices():
        if (pids is not None and d["pid"] not in pids) or \
                (devices is not None and d["index"] not in devices):
            continue
        key = (d["pid"], d["index"], d["start_time_ns"])   # a device powered on again is new
        row = _system_row(d, None if prev is None else prev.get(key))
        if prev is not None:
            prev[key] = d
        out.append({f: row[f] for f in fields})
    return out


def _fmt(v: Any) -> str:
    if isinstance(v, list):  # clients.list
        return " ".join(f"{c['pid']}/{c['id']}/{c['jobs']}/{c['memory']}" for c in v)
    return "N/A" if v is None else str(v)


def _short_cmd(cmd: Any) -> str:
    if cmd is None:
        return _fmt(cmd)
    return " ".join(w.rsplit("/", 1)[-1] if "/" in w and not w.endswith("/") else w
                    for w in str(cmd).split())


def _cut(text: str, width: int = 40) -> str:
    return text if len(text) <= width else text[:width - 3] + "..."


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
    # Tables are for people: paths in a command line shrink to their last part and long cells
    # are cut; csv and json keep every value whole.
    cells = [[_cut(_short_cmd(r[f]) if f == "process" else _fmt(r[f])) for f in fields]
             for r in rows]
    widths = [max([len(f)] + [len(c[i]) for c in cells]) for i, f in enumerate(fields)]
    lines = ["  ".join(f.ljust(w) for f, w in zip(fields, widths))] if header else []
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in cells]
    return "\n".join(lines)


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


NO_DEVICES = ("No NPU device is open in any of your processes. (The simulated NPU lives in "
              "the process that opens it; npu-smi --self shows this process's own.)")


def _main_system(a, fields: list[str], fmt: str) -> int:
    """The process view: every device the processes of this user publish."""
    pids = _ints(a.pid) if a.pid else None
    devs = _ints(a.id) if a.id else None
    if a.list:
        rows = query_system(["pid", "process", "index", "name", "cores", "memory.total",
                             "isa_version"], pids=pids, devices=devs)
        for r in rows:
            print(f"NPU {r['index']} of pid {r['pid']} ({_cut(_short_cmd(r['process']))}): "
                  f"{r['name']} "
                  f"({r['cores']} cores, {r['memory.total'] // 2**20} MiB, "
                  f"ISA {r['isa_version']})")
        if not rows:
            print(NO_DEVICES)
        return 0
    prev: dict = {}
    k = 0
    while True:
        rows = query_system(fields, prev, pids=pids, devices=devs)
        if rows or fmt != "table":
            print(_render(rows, fields, fmt, header=not a.noheader), flush=True)
        else:
            print(NO_DEVICES, flush=True)
        k += 1
        if a.loop is None or (a.count is not None and k >= a.count):
            return 0
        time.sleep(max(a.loop, 0.01))


def _main_self(a, fields: list[str], fmt: str) -> int:
    """--self: the devices of this process, opened here."""
    import npu
    n = npu.device_count()
    devs = list(range(n)) if not a.id else _ints(a.id)
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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="npu-smi", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-L", "--list", action="store_true", help="list devices, one per line")
    ap.add_argument("-q", "--query", metavar="FIELDS",
                    help="comma-separated fields (see --help-query); default: a summary")
    ap.add_argument("-i", "--id", metavar="INDICES", help="comma-separated device indices")
    ap.add_argument("-p", "--pid", metavar="PIDS",
                    help="comma-separated process ids: only their devices")
    ap.add_argument("--self", dest="self_", action="store_true",
                    help="this process's own devices (opens them) instead of those other "
                    "processes have open")
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
    elif fmt == "json":
        fields = list(FIELDS)
    else:
        fields = DEFAULT_TABLE if a.self_ else DEFAULT_SYSTEM_TABLE
    unknown = [f for f in fields if f not in FIELDS]
    if unknown:
        print(f"npu-smi: unknown field(s) {', '.join(unknown)}; see --help-query",
              file=sys.stderr)
        return 2
    try:
        if a.id:
            _ints(a.id)
        if a.pid:
            _ints(a.pid)
    except ValueError:
        print("npu-smi: -i and -p take comma-separated numbers", file=sys.stderr)
        return 2
    if a.self_ and a.pid:
        print("npu-smi: --pid selects other processes; it does not go with --self",
              file=sys.stderr)
        return 2
    try:
        return (_main_self if a.self_ else _main_system)(a, fields, fmt)
    except KeyboardInterrupt:
        return 0
    except npu.NpuError as e:
        print(f"npu-smi: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
