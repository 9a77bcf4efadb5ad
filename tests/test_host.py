"""`avicviz host` on fixture host trees (tests/fixtures/hosts): what it reads and what it says."""

import json
import shutil
import subprocess
import sys
from pathlib import Path


from avicviz.cli import main
from avicviz.host import avic_default_on, check_host

HOSTS = Path(__file__).resolve().parent / "fixtures" / "hosts"


def host_json(capsys, name, *extra):
    code = main(["host", "--root", str(HOSTS / name), "--json", *extra])
    out, err = capsys.readouterr()
    assert code == 0 and err == ""
    return json.loads(out)


def host_text(capsys, name, *extra):
    code = main(["host", "--root", str(HOSTS / name), *extra])
    out, err = capsys.readouterr()
    assert code == 0 and err == ""
    return out


def test_json_has_the_issue_keys(capsys):
    d = host_json(capsys, "amd-zen4-x2avic-avic-Y-6.8")
    for key in ("kernel", "cpu", "avic_param", "starts", "avic_active"):
        assert key in d
    assert d["kernel"] == "6.8.0-45-generic" and d["kernel_modelled"] == "v6.8"
    assert (d["cpu"], d["avic_param"], d["avic_enabled"], d["starts"], d["avic_active"]) == \
        ("x2avic", "on", True, True, True)
    assert d["vcpus"] == 8  # the fixture's eight logical CPUs


def test_avic_param_N_means_off_and_every_interrupt_emulated(capsys):
    d = host_json(capsys, "amd-zen4-x2avic-avic-N-6.8", "--vcpus", "600")
    assert (d["avic_param"], d["avic_enabled"], d["avic_active"], d["starts"]) == ("off", False, False, True)
    assert "avic=N" in d["avic_param_source"]
    assert any("every interrupt" in line for line in d["vm"])


def test_600_vcpus_with_avic_on_6_3_does_not_start(capsys):
    d = host_json(capsys, "amd-6.3-600", "--vcpus", "600")
    assert d["starts"] is False and d["avic_active"] is False
    assert "vCPU #512" in " ".join(d["vm"])


def test_600_vcpus_with_avic_off_start():
    # a 600-vCPU VM with AVIC off (avic=N): only KVM_MAX_VCPUS (1024 on v6.8) limits it
    r = check_host(HOSTS / "amd-zen4-x2avic-avic-N-6.8", vcpus=600)
    assert r.starts is True and r.avic_active is False


def test_release_default_before_and_from_6_18():
    assert avic_default_on((6, 17), "x2avic") is False
    assert avic_default_on((6, 18), "x2avic") is True
    assert avic_default_on((6, 18), "x2avic-ext") is True
    assert avic_default_on((6, 18), "avic") is False
    assert avic_default_on((6, 18), None) is None
    assert avic_default_on((5, 15), "x2avic") is False


def test_auto_era_6_18_with_x2avic_is_on(capsys):
    d = host_json(capsys, "amd-zen4-auto-6.18")
    assert (d["avic_param"], d["avic_enabled"], d["avic_active"]) == ("on", True, True)
    assert "6.18" in d["avic_param_source"] and "x2AVIC" in d["avic_param_source"]


def test_auto_era_6_18_without_x2avic_is_off(capsys):
    d = host_json(capsys, "amd-zen3-auto-6.18")
    assert (d["cpu"], d["avic_param"], d["avic_enabled"]) == ("avic", "off", False)


def test_zen2_keeps_ipi_virtualization_off(capsys):
    d = host_json(capsys, "amd-zen2-avic-Y-6.17")
    assert d["enable_ipiv"] is False
    assert any("#1235" in w for w in d["why"])
    assert d["vm_model"]["accelerated_vcpus"] == 0


def test_avic_only_cpu_runs_x2apic_guest_in_hybrid_mode(capsys):
    d = host_json(capsys, "amd-zen3-avic-only-avic-Y-6.1", "--vcpus", "4")
    assert (d["cpu"], d["avic_enabled"], d["starts"]) == ("avic", True, True)
    assert d["vm_model"]["ipi_paths"]["send_exits"] == 4


def test_missing_kvm_amd(capsys):
    d = host_json(capsys, "amd-no-kvm-amd-6.8")
    assert d["kvm_amd_loaded"] is False and d["avic_enabled"] is False
    assert any("kvm_amd is not loaded" in u for u in d["unknowns"])
    assert "opt-in" in d["avic_param_source"]


def test_intel_host(capsys):
    out = host_text(capsys, "intel")
    assert "Intel CPU" in out and "AVIC for new VMs: OFF" in out
    d = host_json(capsys, "intel")
    assert (d["vendor_kind"], d["avic_active"], d["starts"]) == ("intel", False, True)


def test_non_x86_host(capsys):
    d = host_json(capsys, "arm64")
    assert d["vendor_kind"] == "non-x86" and d["avic_active"] is False and d["starts"] is None
    assert any("not an x86 host" in w for w in d["why"])


def test_unreadable_cpuinfo_is_named_not_a_traceback(capsys):
    out = host_text(capsys, "amd-unreadable-cpuinfo")
    assert "AVIC for new VMs: UNKNOWN" in out
    assert "/proc/cpuinfo is a folder, not a file" in out


def test_kernel_older_than_avic(capsys):
    d = host_json(capsys, "amd-4.4")
    assert d["kernel_modelled"] is None and d["starts"] is None
    assert "predates AVIC" in d["kernel_note"]


def test_empty_root_says_what_is_unknown(capsys, tmp_path):
    d = host_json(capsys, str(tmp_path))
    assert d["kernel"] is None and d["cpu"] is None
    assert any("/proc/sys/kernel/osrelease does not exist" in u for u in d["unknowns"])
    assert any("/proc/cpuinfo does not exist" in u for u in d["unknowns"])


def test_permission_denied_file(capsys, tmp_path):
    root = tmp_path / "h"
    shutil.copytree(HOSTS / "amd-zen4-x2avic-avic-Y-6.8", root)
    p = root / "sys/module/kvm_amd/parameters/avic"
    p.chmod(0)
    try:
        p.read_text()
    except PermissionError:
        d = host_json(capsys, str(root))
        assert any("permission denied" in u for u in d["unknowns"])
        assert d["avic_param"] == "off"  # falls back to v6.8's default, and says so
    else:  # running as root: permissions do not stop reads; the fallback is tested elsewhere
        d = host_json(capsys, str(root))
        assert d["avic_param"] == "on"
    finally:
        p.chmod(0o644)


def test_bad_vcpus_is_exit_2_one_line(capsys):
    code = main(["host", "--vcpus", "0", "--root", str(HOSTS / "intel")])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "--vcpus='0'" in err and "1..65536" in err


def test_runs_as_a_subprocess_on_this_machine():
    p = subprocess.run([sys.executable, "-m", "avicviz", "host"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert "Traceback" not in p.stderr and "AVIC for new VMs:" in p.stdout


def test_x2avic_ext_on_6_19_fits_600_vcpus(capsys):
    d = host_json(capsys, "amd-zen5-x2avic-ext-6.19", "--vcpus", "600")
    assert (d["cpu"], d["avic_enabled"], d["starts"], d["avic_active"]) == ("x2avic-ext", True, True, True)
    assert d["vm_model"]["max_index"] == 0xFFF and d["vm_model"]["accelerated_vcpus"] == 600


def test_example_hosts_for_the_notebook_are_copies_of_fixtures():
    from avicviz.host import EXAMPLE_HOSTS

    names = sorted(p.name for p in EXAMPLE_HOSTS.iterdir() if p.is_dir())
    assert names == ["amd-zen3-auto-6.18", "amd-zen4-auto-6.18", "amd-zen4-x2avic-avic-N-6.8"]
    for name in names:
        for f in (EXAMPLE_HOSTS / name).rglob("*"):
            if f.is_file():
                assert f.read_bytes() == (HOSTS / name / f.relative_to(EXAMPLE_HOSTS / name)).read_bytes()
