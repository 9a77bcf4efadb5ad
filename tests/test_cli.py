"""The command line, run as a user would (a subprocess) and in-process for the many cases."""

import json
import subprocess
import sys

import pytest

from avicviz.cli import main


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def j(capsys, *args):
    code, out, err = run(capsys, *args, "--json")
    assert code == 0, err
    return json.loads(out)


def test_gatag_encode_json(capsys):
    d = j(capsys, "gatag", "encode", "--vm-id", "1", "--vcpu", "300", "--kernel", "6.2")
    assert d == {"kernel": "v6.2", "vm_id": 1, "vcpu": 300, "vcpu_field": "vcpu_id", "vcpu_bits": 8,
                 "vm_id_bits": 24, "gatag": 0x12C, "gatag_hex": "0x0000012C", "decoded_vm_id": 1,
                 "decoded_vcpu": 44, "lossless": False}


@pytest.mark.parametrize("kernel,tag,field,bits", [("6.3", "0x0000032C", "vcpu_id", 9),
                                                   ("6.17", "0x0000032C", "vcpu_idx", 9),
                                                   ("6.19", "0x0000112C", "vcpu_idx", 12)])
def test_gatag_encode_per_release(capsys, kernel, tag, field, bits):
    d = j(capsys, "gatag", "encode", "--vm-id", "0x1", "--vcpu", "300", "--kernel", kernel)
    assert (d["gatag_hex"], d["vcpu_field"], d["vcpu_bits"], d["lossless"]) == (tag, field, bits, True)


def test_gatag_encode_default_kernel_is_newest(capsys):
    assert j(capsys, "gatag", "encode", "--vm-id", "1", "--vcpu", "1")["kernel"] == "v6.19"


def test_gatag_decode(capsys):
    d = j(capsys, "gatag", "decode", "0x32C", "--kernel", "v6.3")
    assert d == {"kernel": "v6.3", "gatag": 812, "vm_id": 1, "vcpu": 300, "vcpu_field": "vcpu_id",
                 "vcpu_bits": 9, "vm_id_bits": 23}
    assert j(capsys, "gatag", "decode", "4294967295", "--kernel", "6.19")["vm_id"] == 0xFFFFF


def test_entry_decode(capsys):
    d = j(capsys, "entry", "decode", "0xE000000123456007")
    assert d["host_apic_id"] == 7 and d["backing_page"] == 0x123456000
    assert d["is_running"] is True and d["valid"] is True and d["reserved_bits"] == 1 << 61


def test_vm_json_keys_and_values(capsys):
    d = j(capsys, "vm", "--vcpus", "600", "--kernel", "6.3")
    for key in ("kernel", "cpu", "guest_apic", "vcpus", "max_apic_id", "starts", "error", "avic_active",
                "inhibit_reasons", "max_index", "table_pages", "accelerated_vcpus", "gatag_aliased_vcpus"):
        assert key in d
    assert d["starts"] is False and "vCPU #512" in d["error"] and d["cpu"] == "x2avic"
    assert d["guest_apic"] == "x2apic"
    d = j(capsys, "vm", "--topology", "sockets=3,cores=160,threads=1", "--kernel", "6.17")
    assert (d["vcpus"], d["max_apic_id"], d["starts"], d["avic_active"]) == (480, 671, True, False)
    assert d["inhibit_reasons"] == ["APICV_INHIBIT_REASON_PHYSICAL_ID_TOO_BIG"]
    d = j(capsys, "vm", "--vcpus", "4096", "--cpu", "x2avic-ext", "--kvm-max-vcpus", "4096")
    assert (d["max_index"], d["table_pages"], d["accelerated_vcpus"]) == (4095, 8, 4096)
    d = j(capsys, "vm", "--vcpus", "4096", "--cpu", "x2avic-ext")  # default KVM_MAX_VCPUS: 1024
    assert (d["starts"], d["kvm_max_vcpus"], d["kvm_max_vcpus_assumed"]) == (False, 1024, "release default")
    d = j(capsys, "vm", "--apic-ids", "0-299", "--kernel", "6.2")
    assert d["gatag_aliased_vcpus"] == list(range(256, 300))
    d = j(capsys, "vm", "--vcpus", "600", "--kernel", "6.3", "--policy", "partial-avic")
    assert d["starts"] and d["avic_active"] and d["accelerated_vcpus"] == 512


def test_releases(capsys):
    d = j(capsys, "releases")
    assert d["default"] == "v6.19"
    assert [r["range"] for r in d["releases"]][0] == "v4.7"
    code, out, _ = run(capsys, "releases")
    assert code == 0 and "v6.3..v6.5" in out and "9-bit vcpu_id / 23-bit vm_id" in out


def test_human_output(capsys):
    code, out, _ = run(capsys, "gatag", "encode", "--vm-id", "1", "--vcpu", "300", "--kernel", "6.2")
    assert code == 0 and "0x0000012C" in out and "reaches 44" in out
    code, out, _ = run(capsys, "vm", "--vcpus", "600", "--kernel", "6.19")
    assert "PHYSICAL_ID_TOO_BIG" in out


@pytest.mark.parametrize("args,needle", [
    (["gatag", "encode", "--vm-id", "-1", "--vcpu", "3"], "--vm-id='-1' is out of range"),
    (["gatag", "encode", "--vm-id", "1", "--vcpu", "0x100000000"], "--vcpu='0x100000000'"),
    (["gatag", "encode", "--vm-id", "1"], "required: --vcpu"),
    (["gatag", "decode", "0x1FFFFFFFF"], "TAG='0x1FFFFFFFF' is out of range"),
    (["gatag", "decode", "zz"], "TAG='zz' is not a number"),
    (["gatag", "decode", "1", "--kernel", "3.10"], "older than AVIC support"),
    (["gatag", "decode", "1", "--kernel", "banana"], "kernel='banana' is not a Linux version"),
    (["entry", "decode", "0x1" + "0" * 16], "VALUE="),
    (["vm", "--vcpus", "0"], "--vcpus='0' is out of range"),
    (["vm", "--vcpus", "5000", "--kernel", "6.3"], "beyond KVM's vCPU-ID limit"),
    (["vm", "--topology", "sockets=0,cores=4"], "sockets=0 is out of range"),
    (["vm", "--topology", "sockets=2,cores=-4"], "cores=-4 is out of range"),
    (["vm", "--topology", "planets=2"], "is not LEVEL=N"),
    (["vm", "--vcpus", "4", "--cpu", "zen"], "invalid choice: 'zen'"),
    (["vm", "--vcpus", "4", "--guest-apic", "x3apic"], "invalid choice: 'x3apic'"),
    (["vm", "--apic-ids", "1,2,2"], "APIC ID 2 twice"),
    (["vm"], "one of the arguments"),
    (["nonsense"], "invalid choice"),
])
def test_bad_input_exit_2_one_line(capsys, args, needle):
    code, out, err = run(capsys, *args)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("avicviz: error: ")
    assert needle in lines[0]
    assert "Traceback" not in err


def test_subprocess_entry_points():
    p = subprocess.run([sys.executable, "-m", "avicviz", "gatag", "encode", "--vm-id", "1", "--vcpu", "300",
                        "--kernel", "6.2", "--json"], capture_output=True, text=True, check=False)
    assert p.returncode == 0 and json.loads(p.stdout)["decoded_vcpu"] == 44
    p = subprocess.run([sys.executable, "-m", "avicviz", "vm", "--vcpus", "-3"],
                       capture_output=True, text=True, check=False)
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "Traceback" not in p.stderr
    exe = __import__("shutil").which("avicviz", path=str(__import__("pathlib").Path(sys.executable).parent))
    assert exe, "the avicviz console script is installed beside the interpreter"
    p = subprocess.run([exe, "releases", "--json"], capture_output=True, text=True, check=False)
    assert p.returncode == 0 and json.loads(p.stdout)["default"] == "v6.19"
