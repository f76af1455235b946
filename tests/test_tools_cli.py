"""The command-line tools: npu-smi, npu-objdump, npu-as."""

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import npu
import npu.smi
from kernels import VADD, scalar_binop

BIN = Path(sys.executable).parent


def tool(name: str, *args, check=True, env=None, input=None) -> subprocess.CompletedProcess:
    exe = BIN / name
    cmd = [str(exe)] if exe.exists() else [
        sys.executable, "-m", {"npu-smi": "npu.smi", "npu-objdump": "npu.objdump",
                               "npu-as": "npu.assembler"}[name]]
    r = subprocess.run([*cmd, *args], capture_output=True, text=True, cwd="/", timeout=60,
                       env=env, input=input)
    if check:
        assert r.returncode == 0, r.stdout + r.stderr
    return r


def test_console_scripts_are_installed():
    for name in ("npu-smi", "npu-objdump", "npu-as"):
        assert (BIN / name).exists() or shutil.which(name), name


# ---- npu-smi -----------------------------------------------------------------------------

def test_smi_json_has_every_documented_field():
    data = json.loads(tool("npu-smi", "--self", "--json").stdout)
    assert isinstance(data["timestamp"], float)
    dev = data["devices"][0]
    assert set(dev) == set(npu.smi.FIELDS)
    assert dev["index"] == 0 and dev["cores"] >= 1
    assert 0 <= dev["memory.used"] <= dev["memory.total"]
    assert dev["memory.free"] == dev["memory.total"] - dev["memory.used"]
    assert dev["isa_version"] == "%d.%d" % npu.Device(0).isa_version
    assert dev["libnpu_version"] == npu.__version__
    assert dev["resets"] == 0
    # The tool's own process is the one client: its pid, its (few) jobs and memory.
    assert dev["clients"] == 1
    (me,) = dev["clients.list"]
    assert set(me) == {"pid", "id", "jobs", "memory", "self"}
    assert me["self"] is True and me["pid"] > 0 and me["pid"] != os.getpid()
    assert me["jobs"] >= 0 and me["memory"] >= 0


def test_smi_clients_in_process(dev):
    """Inside a program: this process's client, with its jobs and memory."""
    t = dev.asarray(np.arange(1 << 16, dtype=np.float32))
    t.fill(2.0).numpy()  # a FILL job of the device
    (row,) = npu.smi.query(["clients", "clients.list"], [0])
    assert row["clients"] == len(row["clients.list"]) >= 1
    mine = [c for c in row["clients.list"] if c["self"]]
    assert len(mine) == 1 and mine[0]["pid"] == os.getpid()
    assert mine[0]["jobs"] == dev.stats()["jobs_submitted"] > 0
    assert mine[0]["memory"] >= t.nbytes
    out = tool("npu-smi", "--self", "-q", "clients,clients.list", "--format", "csv",
               "--noheader").stdout.strip()
    count, listing = out.split(",")
    pid, cid, jobs, mem = listing.split("/")
    assert count == "1" and int(pid) > 0 and int(cid) >= 0 and int(jobs) >= 0 and int(mem) >= 0


def test_smi_fields_are_documented():
    doc = (Path(__file__).resolve().parent.parent / "docs" / "tools.md")
    if not doc.exists():
        pytest.skip("needs the source tree")
    text = doc.read_text()
    for f in npu.smi.FIELDS:
        assert f"`{f}`" in text, f"field {f} is not documented in docs/tools.md"


def test_smi_csv_query_and_devices():
    env = dict(os.environ, NPU_SIM_DEVICES="2")
    out = tool("npu-smi", "--self", "--query", "index,name,memory.total,utilization,resets",
               "--format", "csv", env=env).stdout
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["index", "name", "memory.total", "utilization", "resets"]
    assert [r[0] for r in rows[1:]] == ["0", "1"]
    assert rows[1][4] == "0" and int(rows[1][2]) > 0
    out = tool("npu-smi", "--self", "-q", "index", "--format", "csv", "--noheader", "-i", "1",
               env=env).stdout
    assert out.strip() == "1"
    r = tool("npu-smi", "-q", "bogus", check=False)
    assert r.returncode == 2 and "unknown field" in r.stderr
    r = tool("npu-smi", "--self", "-i", "5", check=False)
    assert r.returncode == 2 and "no device 5" in r.stderr


def test_smi_list_and_loop():
    out = tool("npu-smi", "--self", "-L").stdout
    assert out.startswith("NPU 0: npu0")
    out = tool("npu-smi", "--self", "--json", "--loop", "0.05", "--count", "3").stdout
    docs = [json.loads(d) for d in out.replace("}\n{", "}\x00{").split("\x00")]
    assert len(docs) == 3 and all(d["devices"][0]["index"] == 0 for d in docs)
    help_ = tool("npu-smi", "--help-query").stdout
    assert all(f in help_ for f in npu.smi.FIELDS)


def test_smi_query_while_kernels_run(dev):
    """In-process (the simulated device lives in this process): utilisation and job counts
    move while a thread keeps the device busy."""
    spin = npu.assemble(".kernel busy\n    li r1, 2000000\nl:\n    loop r1, l\n    halt\n")
    prev: dict = {}
    npu.smi.query(["utilization"], [0], prev)
    stop = threading.Event()

    def work():
        while not stop.is_set():
            dev.launch(spin)
            dev.synchronize()

    t = threading.Thread(target=work)
    t.start()
    try:
        samples = []
        for _ in range(5):
            threading.Event().wait(0.1)
            samples.append(npu.smi.query(["utilization", "jobs.completed"], [0], prev)[0])
    finally:
        stop.set()
        t.join()
    assert max(s["utilization"] for s in samples) > 20, samples
    assert samples[-1]["jobs.completed"] > samples[0]["jobs.completed"]


# ---- npu-as and npu-objdump -----------------------------------------------------------------

def test_as_and_objdump_round_trip(tmp_path):
    src = tmp_path / "k.s"
    src.write_text(VADD + scalar_binop("add") + "\n.const\nc: .dword 7\n")
    tool("npu-as", str(src), "-o", str(tmp_path / "k.kbin"))
    binary = (tmp_path / "k.kbin").read_bytes()
    assert binary == npu.assemble(src.read_text(), filename=str(src)).binary
    text = tool("npu-objdump", str(tmp_path / "k.kbin")).stdout
    assert "file format NPUKBIN version 1" in text
    assert "vadd(x: ptr, y: ptr, z: ptr, n: i64)" in text
    assert "sbin(a: i64, b: i64, out: ptr)" in text
    assert "<vadd>:" in text and "<sbin>:" in text and "halt" in text
    assert "Constants (8 bytes)" in text
    d = json.loads(tool("npu-objdump", "--json", str(tmp_path / "k.kbin")).stdout)
    assert d["header"]["magic"] == "NPUKBIN" and d["header"]["file_size"] == len(binary)
    assert [k["name"] for k in d["kernels"]] == ["vadd", "sbin"]
    assert d["kernels"][0]["args"][3] == {"name": "n", "type": "i64"}
    assert len(d["code"]) == d["header"]["code_size"] // 8
    assert d["code"][0]["kernel"] == "vadd" and d["code"][0]["text"].startswith("ldarg")
    # -S gives source that assembles back to the same bytes.
    again = tmp_path / "again.s"
    again.write_text(tool("npu-objdump", "-S", str(tmp_path / "k.kbin")).stdout)
    tool("npu-as", str(again), "-o", str(tmp_path / "again.kbin"))
    assert (tmp_path / "again.kbin").read_bytes() == binary
    only = tool("npu-objdump", "-t", str(tmp_path / "k.kbin")).stdout
    assert "Kernels:" in only and "Disassembly" not in only and "Sections" not in only


def test_as_reports_errors_with_location(tmp_path):
    src = tmp_path / "bad.s"
    src.write_text(".kernel k\n    add r1, r2\n    halt\n")
    r = tool("npu-as", str(src), check=False)
    assert r.returncode == 1 and f"{src}:2:" in r.stderr
    r = tool("npu-as", "-", "-o", str(tmp_path / "o.kbin"), input=".kernel k\n    halt\n")
    assert (tmp_path / "o.kbin").read_bytes()[:8] == b"NPUKBIN\0"


def test_objdump_rejects_malformed_binaries(tmp_path):
    (tmp_path / "bad.kbin").write_bytes(b"NPUKBIN\0" + b"\0" * 20)
    r = tool("npu-objdump", str(tmp_path / "bad.kbin"), check=False)
    assert r.returncode == 1 and "not a valid kernel binary" in r.stderr
    r = tool("npu-objdump", str(tmp_path / "missing.kbin"), check=False)
    assert r.returncode == 1 and "No such file" in r.stderr
