"""npu-smi's process view: the devices of another process, seen while it runs kernels.

Each test gets its own NPU_RUN_DIR, so parallel runs (and other users of the machine) never
see each other's devices.
"""

import json
import os
import subprocess
import sys
import time

import pytest

import npu
import npu.smi

CHILD = r"""
import json, os, sys, time
import numpy as np
import npu, npu.smi

stop = sys.argv[1]
dev = npu.Device(0)
spin = npu.assemble(".kernel busy\n    li r1, 20000\nl:\n    loop r1, l\n    halt\n")
dev.launch(spin)             # loads the kernel: the memory it takes is counted from here
dev.synchronize()
x = dev.empty(3 << 20, np.float32)   # 12 MiB
used = npu.smi.query(["memory.used"])[0]["memory.used"]
print(json.dumps({"pid": os.getpid(), "mem_used": used}), flush=True)
while not os.path.exists(stop):
    dev.launch(spin)
    dev.synchronize()
"""


def smi(env, *args):
    r = subprocess.run([sys.executable, "-m", "npu.smi", *args], capture_output=True,
                       text=True, env=env, timeout=60, cwd="/")
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def smi_json(env, *args):
    return json.loads(smi(env, "--json", *args))["devices"]


@pytest.fixture
def run_env(tmp_path):
    return dict(os.environ, NPU_RUN_DIR=str(tmp_path / "run"), NPU_LOG_LEVEL="error")


def test_smi_sees_another_process_running_kernels(tmp_path, run_env):
    stop = tmp_path / "stop"
    script = tmp_path / "busy_child.py"
    script.write_text(CHILD)
    child = subprocess.Popen([sys.executable, str(script), str(stop)], env=run_env,
                             stdout=subprocess.PIPE, text=True, cwd="/")
    try:
        hello = json.loads(child.stdout.readline())
        assert hello["pid"] == child.pid
        first = smi_json(run_env)
        time.sleep(0.3)
        second = smi_json(run_env)
        for devs in (first, second):
            assert len(devs) == 1, devs
            d = devs[0]
            assert set(d) == set(npu.smi.FIELDS)
            assert d["pid"] == child.pid and d["index"] == 0
            assert "busy_child.py" in d["process"]
            assert d["memory.used"] == hello["mem_used"]
            assert d["memory.used"] >= 12 << 20
            assert d["memory.free"] == d["memory.total"] - d["memory.used"]
            assert d["clients"] == 1 and d["faults"] == 0
            assert 0 <= d["utilization"] <= 100
        assert second[0]["jobs.completed"] > first[0]["jobs.completed"] > 0
        assert second[0]["jobs.submitted"] >= second[0]["jobs.completed"]
        # Utilization over the interval between two samples of one --loop.
        out = smi(run_env, "--json", "--loop", "0.2", "--count", "2")
        docs = [json.loads(x) for x in out.replace("}\n{", "}\x00{").split("\x00")]
        assert docs[1]["devices"][0]["utilization"] > 0
        # The other formats and filters.
        csv_ = smi(run_env, "-q", "pid,index,jobs.completed", "--format", "csv", "--noheader")
        pid, index, jobs = csv_.strip().split(",")
        assert (int(pid), int(index)) == (child.pid, 0) and int(jobs) > 0
        assert smi(run_env, "-q", "pid", "--format", "csv", "--noheader",
                   "-p", str(child.pid + 1)).strip() == ""
        table = smi(run_env)
        assert str(child.pid) in table and "busy_child.py" in table
        assert f"of pid {child.pid}" in smi(run_env, "-L")
    finally:
        stop.touch()
        child.wait(timeout=60)
    assert child.returncode == 0
    assert smi_json(run_env) == []
    assert not any((tmp_path / "run").iterdir())


def test_smi_with_no_process_says_so(tmp_path, run_env):
    assert smi_json(run_env) == []
    assert "No NPU device is open" in smi(run_env)
    assert "No NPU device is open" in smi(run_env, "-L")
    assert smi(run_env, "-q", "pid,index", "--format", "csv").strip() == "pid,index"


def test_query_system_in_python_sees_this_process(tmp_path, monkeypatch):
    """npu.smi.query_system() lists this process's own device too (once it is open), through
    libnpu, with the same counters as the in-process view."""
    # The driver reads NPU_RUN_DIR when a device powers on; this process's device may already
    # be on (session fixture), publishing elsewhere: use a fresh process.
    env = dict(os.environ, NPU_RUN_DIR=str(tmp_path / "run"), NPU_LOG_LEVEL="error")
    code = r"""
import json, os, npu, npu.smi
dev = npu.Device(0)
x = dev.empty(1 << 20)
mine = npu.smi.query(["memory.used", "jobs.submitted"])[0]
rows = npu.smi.query_system(["pid", "index", "memory.used", "jobs.submitted", "clients"])
print(json.dumps({"pid": os.getpid(), "mine": mine, "rows": rows}))
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                       timeout=60, cwd="/")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["rows"] == [{"pid": out["pid"], "index": 0,
                            "memory.used": out["mine"]["memory.used"],
                            "jobs.submitted": out["mine"]["jobs.submitted"], "clients": 1}]
    with pytest.raises(ValueError, match="unknown field"):
        npu.smi.query_system(["bogus"])
