"""Section 14 of ../shared/reference/avic-facts.md (kernel fidelity, round 2), one row per fact.

Each table is transcribed from the facts sheet, independently of data/kernel_releases.csv; the
comment on each row names the kernel evidence.  Where the facts sheet says a release is not
pinned, the row tests the release the model places it in and the UNVERIFIED marking.
"""

import json

import pytest

import avicviz as av
from avicviz.cli import main

TOO_BIG = "APICV_INHIBIT_REASON_PHYSICAL_ID_TOO_BIG"


def cli_json(capsys, *args):
    code = main([*args, "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


# ---- AVIC is opt-in ------------------------------------------------------------------------------

AVIC_DEFAULT = [
    # kernel, cpu, kvm_amd avic default on that CPU
    ("4.7", "avic", False),         # 44a95dae1d22: avic module parameter, default off
    ("5.10", "x2avic", False),      # off up to 6.17
    ("6.17", "x2avic", False),      # still off on 6.17
    ("6.17", "x2avic-ext", False),
    ("6.18", "x2avic", True),       # ca2967de5a5b: on for Zen4+ (x2AVIC)
    ("6.18", "avic", False),        # ... off otherwise
    ("6.19", "x2avic-ext", True),
    ("6.19", "avic", False),
]


@pytest.mark.parametrize("kernel,cpu,on", AVIC_DEFAULT)
def test_avic_default(kernel, cpu, on):
    assert av.release(kernel).avic_default_on(cpu) is on
    r = av.simulate(8, kernel=kernel, cpu=cpu, guest_apic="xapic", avic="default")
    assert r.avic_enabled is on and r.avic_active is on


@pytest.mark.parametrize("kernel", ["4.7", "5.10", "6.3", "6.17", "6.19"])
def test_avic_off_no_avic_rule_applies(kernel):
    # section 14: with AVIC off a 600-vCPU VM starts on any release, subject to KVM_MAX_VCPUS
    r = av.simulate(200, kernel=kernel, avic="off")
    assert r.starts and not r.avic_active and r.inhibit_reasons == ()
    assert r.path_counts()["emulated"] == 200 and r.max_index is None and r.table_pages == 0
    assert (r.gatag_woken == -2).all()  # no device interrupt is posted


@pytest.mark.parametrize("kernel,starts", [("6.3", True), ("6.19", True), ("5.10", False)])
def test_600_vcpus_with_avic_off(kernel, starts):
    r = av.simulate(600, kernel=kernel, avic="off")
    assert r.starts is starts and not r.avic_active
    if not starts:  # 5.10: KVM_MAX_VCPUS is 288, AVIC or not
        assert r.error == "KVM_CREATE_VCPU fails with -EINVAL for vCPU #288: KVM_MAX_VCPUS is 288"


CLI_AVIC = [
    # kernel, cpu, --avic, effective avic_param, avic_active (8 vCPUs, x2APIC guest)
    ("5.10", "avic", "default", "off", False),
    ("5.10", "avic", "on", "on", False),          # 5.7..5.19: x2APIC guest inhibits AVIC
    ("5.6", "avic", "on", "on", True),            # < 5.7: x2APIC hidden, the guest runs xAPIC
    ("6.17", "x2avic", "default", "off", False),
    ("6.18", "x2avic", "default", "on", True),
    ("6.18", "avic", "default", "off", False),
    ("6.19", "x2avic-ext", "off", "off", False),
    ("6.19", "x2avic-ext", "default", "on", True),
    ("6.3", "x2avic", "on", "on", True),
]


@pytest.mark.parametrize("kernel,cpu,avic,param,active", CLI_AVIC)
def test_cli_vm_avic_json(capsys, kernel, cpu, avic, param, active):
    d = cli_json(capsys, "vm", "--vcpus", "8", "--kernel", kernel, "--cpu", cpu, "--avic", avic)
    assert (d["avic_param"], d["avic_requested"], d["avic_active"]) == (param, avic, active)
    assert d["starts"] is True


def test_cli_vm_avic_flag_defaults_to_on_and_says_so(capsys):
    assert main(["vm", "--vcpus", "8", "--kernel", "6.3"]) == 0
    out = capsys.readouterr().out
    assert "kvm_amd avic=1 assumed; this release's default: off" in out
    assert "KVM_MAX_VCPUS 1024 (v6.3's default)" in out
    assert main(["vm", "--vcpus", "8", "--kernel", "6.19", "--avic", "default"]) == 0
    out = capsys.readouterr().out
    assert "kvm_amd avic left at v6.19's default on this CPU: on (avic=1)" in out


def test_cli_bad_avic_value(capsys):
    assert main(["vm", "--vcpus", "8", "--avic", "auto"]) == 2
    assert "invalid choice: 'auto'" in capsys.readouterr().err


# ---- table size on 6.19 with X2AVIC_EXT: get_order pages ---------------------------------------

@pytest.mark.parametrize("max_vcpu_ids,pages", [
    # 940fc47cfb0d: get_order((max_physical_id + 1) * 8), max_physical_id = min(max_vcpu_ids - 1, 0xFFF)
    (600, 2), (1024, 2), (1025, 4), (1500, 4), (2048, 4), (2049, 8), (4096, 8), (512, 1),
])
def test_619_table_pages(max_vcpu_ids, pages):
    assert av.table_pages("6.19", "x2avic-ext", max_vcpu_ids=max_vcpu_ids) == pages


def test_619_cli_table_pages(capsys):
    d = cli_json(capsys, "vm", "--vcpus", "600", "--kernel", "6.19", "--cpu", "x2avic-ext",
                 "--max-vcpu-ids", "1500")
    assert (d["max_index"], d["table_pages"]) == (1499, 4)


# ---- x2APIC guests -------------------------------------------------------------------------------

X2APIC_GUEST = [
    # kernel, cpu, guest mode the guest runs, AVIC active, inhibit reasons, hybrid
    ("4.7", "x2avic", "xapic", True, (), False),    # < 5.7: KVM hides x2APIC from CPUID
    ("5.6", "x2avic", "xapic", True, (), False),
    ("5.7", "x2avic", "x2apic", False, ("APICV_INHIBIT_REASON_X2APIC",), False),  # 5.7 inhibit
    ("5.19", "x2avic", "x2apic", False, ("APICV_INHIBIT_REASON_X2APIC",), False),
    ("6.0", "avic", "x2apic", True, (), True),      # 6.0: hybrid AVIC without x2AVIC
    ("6.0", "x2avic", "x2apic", True, (), False),   # 6.0: x2AVIC
]


@pytest.mark.parametrize("kernel,cpu,seen,active,inhibits,hybrid", X2APIC_GUEST)
def test_x2apic_guest_by_release(kernel, cpu, seen, active, inhibits, hybrid):
    r = av.simulate(8, kernel=kernel, cpu=cpu, guest_apic="x2apic")
    assert (r.guest_apic_seen, r.avic_active, r.inhibit_reasons, r.hybrid) == (seen, active, inhibits, hybrid)


def test_hybrid_named_in_the_readout(capsys):
    r = av.simulate(8, kernel="6.3", cpu="avic")
    assert r.avic_status == "active (hybrid AVIC: delivery accelerated, the sender's x2APIC writes exit)"
    assert main(["vm", "--vcpus", "8", "--kernel", "6.3", "--cpu", "avic"]) == 0
    out = capsys.readouterr().out
    assert "AVIC: active (hybrid AVIC: delivery accelerated, the sender's x2APIC writes exit)" in out


def test_510_x2apic_300_vcpus_one_answer(capsys):
    # ids >= 255 fail KVM_CREATE_VCPU on <= 5.19 whether or not AVIC would be inhibited
    r = av.simulate(300, kernel="5.10", guest_apic="x2apic")
    assert not r.starts and r.inhibit_reasons == () and r.avic_status.startswith("not applicable")
    assert not any("inhibited" in n for n in r.notes)
    assert main(["vm", "--vcpus", "300", "--kernel", "5.10"]) == 0
    out = capsys.readouterr().out
    assert "does NOT start" in out and "inhibited" not in out


# ---- GATag / GA log / allocator eras ---------------------------------------------------------------

@pytest.mark.parametrize("kernel,has_gatag,allocator", [
    ("4.7", False, "none"),      # 44a95dae1d22: AVIC without per-VM IDs
    ("4.8", False, "none"),      # per-VM ID release not pinned: placed in 4.9 (UNVERIFIED)
    ("4.9", True, "bitmap"),     # 5ea11f2b31b8 "svm: Introduces AVIC per-VM ID": a bitmap
    ("4.13", True, "bitmap"),
    ("4.14", True, "counter"),   # counter + wrap + hash check (commonly around 4.14, UNVERIFIED)
    ("6.19", True, "counter"),
])
def test_gatag_and_allocator_eras(kernel, has_gatag, allocator):
    r = av.release(kernel)
    assert (r.per_vm_id, r.vm_id_allocator) == (has_gatag, allocator)
    if has_gatag:
        assert av.encode(1, 3, kernel).tag == (1 << r.gatag_vcpu_bits) | 3
        return
    for call in (lambda: av.encode(1, 3, kernel), lambda: av.decode(0x103, kernel),
                 lambda: av.aliases(8, kernel), lambda: av.VMIDAllocator.for_kernel(kernel),
                 lambda: av.decode_ga_log_entry(0x1000010000000103, kernel)):
        with pytest.raises(ValueError, match="came after AVIC itself.*UNVERIFIED"):
            call()
    rep = av.simulate(8, kernel=kernel, guest_apic="xapic")
    assert rep.avic_active and (rep.gatag_woken == -2).all() and rep.gatag_aliased_vcpus == []
    assert any("predates per-VM AVIC IDs" in n for n in rep.notes)


def test_unverified_placements_are_marked():
    assert "not verified" in av.release("4.8").unverified
    assert "not verified" in av.release("4.14").unverified
    assert "not verified" in av.release("4.7").unverified  # first release, KVM_MAX_VCPUS 255


def test_cli_gatag_on_47_is_a_clear_error(capsys):
    assert main(["gatag", "encode", "--vm-id", "1", "--vcpu", "3", "--kernel", "4.7"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "kernel=v4.7 has no GATag" in err


def test_inhibited_vm_device_interrupts_are_not_posted():
    r = av.simulate(600, kernel="6.17")
    assert not r.avic_active and (r.gatag_woken == -2).all()
    assert any("device interrupts are not posted" in n for n in r.notes)


# ---- host APIC ID above the field before 5.18 --------------------------------------------------------

@pytest.mark.parametrize("kernel,host_id,written", [
    ("5.10", 255, True),
    ("5.10", 300, False),   # < 4a204f789587: 8-bit field, WARN_ON and return: nothing written
    ("5.17", 256, False),
    ("5.18", 300, True),    # 4a204f789587 (5.18): 12-bit field
    ("6.19", 4095, True),
    ("6.19", 4096, False),  # beyond the 12-bit field: the same WARN and return
])
def test_host_apic_id_rule(kernel, host_id, written):
    before = av.encode_entry(0, 0x123456000, False, kernel=kernel)
    x = av.load_entry(before, host_id, kernel)
    assert x.written is written
    if written:
        assert (x.entry.host_apic_id, x.entry.is_running) == (host_id, True)
    else:
        assert x.after == before and not x.entry.is_running  # IsRunning stays 0, nothing truncated
        with pytest.raises(ValueError, match="KVM WARNs and writes no entry, so IsRunning stays 0"):
            av.encode_entry(host_id, 0x1000, True, kernel=kernel)


# ---- enable_ipiv, kernel_irqchip=split, KVM_MAX_VCPUS, 6.19 rc -------------------------------------

def test_enable_ipiv_exists_from_617():
    with pytest.raises(ValueError, match="no enable_ipiv parameter on v6.16"):
        av.simulate(8, kernel="6.16", enable_ipiv=False)
    assert av.simulate(8, kernel="6.17", enable_ipiv=False).path_counts()["target_not_running"] == 8


@pytest.mark.parametrize("kernel,split", [("4.7", True), ("5.5", True), ("5.6", False), ("6.19", False)])
def test_kernel_irqchip_split_before_56(kernel, split):
    r = av.simulate(8, kernel=kernel, guest_apic="xapic")
    assert any("kernel_irqchip=split" in n for n in r.notes) is split


@pytest.mark.parametrize("kernel,default,maximum", [
    ("4.7", 255, 255),      # v4.7 likely 255 (UNVERIFIED)
    ("4.8", 288, 288),      # 682f732ecf73 "KVM: x86: bump MAX_VCPUS to 288"
    ("5.14", 288, 288),
    ("5.15", 1024, 1024),   # "kvm: x86: Increase MAX_VCPUS to 1024"
    ("6.6", 1024, 1024),
    ("6.7", 1024, 4096),    # CONFIG_KVM_MAX_NR_VCPUS 1024..4096
    ("6.19", 1024, 4096),
])
def test_kvm_max_vcpus(kernel, default, maximum):
    r = av.release(kernel)
    assert (r.kvm_max_vcpus, r.kvm_max_vcpus_configurable_max) == (default, maximum)
    rep = av.simulate(8, kernel=kernel, guest_apic="xapic")
    assert rep.kvm_max_vcpus == default and f"KVM_MAX_VCPUS {default}" in rep.kvm_max_vcpus_text


def test_one_kvm_max_vcpus_assumption():
    r = av.simulate(2000, kernel="6.19", cpu="x2avic-ext")
    assert not r.starts and "KVM_MAX_VCPUS is 1024" in r.error
    r = av.simulate(2000, kernel="6.19", cpu="x2avic-ext", kvm_max_vcpus=4096)
    assert r.starts and r.avic_active and r.kvm_max_vcpus_text.startswith("KVM_MAX_VCPUS 4096 (given")
    s = av.sweep("6.19", "x2avic-ext")
    assert bool(s.starts[1023]) and not bool(s.starts[1024])


def test_released_619_has_no_x2avic_disabled_bug():
    # the rc regression (x2avic_max_physical_id left 0) was fixed by cfbe371194d1 before v6.19
    r = av.simulate(8, kernel="6.19", cpu="avic", guest_apic="xapic")
    assert r.avic_active and r.inhibit_reasons == ()
    assert "before the release" in av.release("6.19").source


# ---- every mainline release, everywhere --------------------------------------------------------------

def test_mainline_list():
    m = av.mainline_releases()
    assert m[0] == "4.7" and m[-1] == "6.19" and "4.20" in m and "5.19" in m and "5.20" not in m
    assert len(m) == 14 + 20 + 20


@pytest.mark.parametrize("kernel", av.mainline_releases())
def test_every_release_works_with_defaults(kernel):
    s = av.sweep(kernel)
    assert s.counts.size == min(4096, av.release(kernel).vcpu_id_limit())
    assert av.simulate(8, kernel=kernel).starts
    assert av.release(kernel).name == f"v{kernel}"


# ---- stable backports ------------------------------------------------------------------------------

@pytest.mark.parametrize("kernel,named,gatag_bits", [
    ("6.1.20", ["Fix GATag bug", "5aede752a839"], 8),  # reached 6.1.y; first 6.1.y release not pinned: named only
    ("6.2.9", ["Fix GATag bug", "5aede752a839"], 8),
    ("6.6.30", ["574ef752d4ae"], 9),     # max_vcpu_ids cap, 6.6.y
    ("5.15.100", ["4a204f789587", "5aede752a839"], 8),  # "also in stable", series not pinned
    ("6.3.1", [], 9),
])
def test_stable_versions_name_backports(kernel, named, gatag_bits):
    r = av.release(kernel)
    text = " ".join(b.describe() for b in r.backports)
    assert all(n in text for n in named) and len(r.backports) == len(named)
    assert r.gatag_vcpu_bits == gatag_bits and r.applied_backports == ()
    rep = av.simulate(8, kernel=kernel, guest_apic="xapic")
    assert sum("stable backport" in n for n in rep.notes) == len(named)


def test_stable_version_in_cli_json(capsys):
    d = cli_json(capsys, "vm", "--vcpus", "300", "--kernel", "6.1.20")
    assert d["kernel"] == "v6.1.20" and d["modelled_as"] == "v6.1"
    assert any("Fix GATag bug" in b for b in d["stable_backports"])


# ---- the release cheat sheet -----------------------------------------------------------------------

def test_release_table_dataframe():
    t = av.release_table()
    assert list(t.index) == [r.range_name for r in av.release_ranges()]
    assert t.loc["v6.19", "max_table_pages"] == 8 and t.loc["v6.3..v6.5", "gatag"] == "9-bit vcpu_id / 23-bit vm_id"
    assert t.loc["v6.18", "avic_default"] == "on with x2AVIC, else off"
    assert t.loc["v6.7..v6.16", "kvm_max_vcpus_max"] == 4096


def test_cli_releases_csv_and_json(capsys):
    assert main(["releases", "--csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("range,first,last,avic_default") and len(lines) == 1 + len(av.release_ranges())
    d = cli_json(capsys, "releases")
    assert d["mainline"][0] == "4.7" and d["releases"][0]["range"] == "v4.7"


# ---- decoders --------------------------------------------------------------------------------------

def test_galog_decode(capsys):
    d = cli_json(capsys, "galog", "decode", "0x1000010000000B2C", "--kernel", "6.3")
    assert (d["type"], d["device_id"], d["gatag"], d["vm_id"], d["vcpu"]) == (1, 0x100, 0xB2C, 5, 300)
    assert d["warning"] is None
    d = cli_json(capsys, "galog", "decode", "0x1000010000000B2C", "--kernel", "6.2")
    assert (d["vm_id"], d["vcpu"]) == (11, 44)


def test_galog_reserved_bits_on_stderr(capsys):
    assert main(["galog", "decode", "0x1001010000000B2C", "--kernel", "6.3"]) == 0
    out, err = capsys.readouterr()
    assert err.count("\n") == 1 and "reserved bits 0x0001000000000000" in err and "GA-log entry" in out


def test_entry_decode_of_a_galog_value_warns(capsys):
    assert main(["entry", "decode", "0x1000010000000B2C", "--json"]) == 0
    out, err = capsys.readouterr()
    assert err.count("\n") == 1 and "galog decode" in err
    assert "reserved bits" in json.loads(out)["warning"]


def test_irte_decode(capsys):
    d = cli_json(capsys, "irte", "decode", "0x0000032C000006C5", "0x0000000100000041")
    assert (d["ga_tag"], d["vector"], d["destination"], d["is_run"], d["guest_mode"]) == (0x32C, 0x41, 6, 1, 1)
    assert d["backing_page"] == "0x100000000" and d["warning"] is None
    assert main(["irte", "decode", "0x0000032C000006CD", "0x100"]) == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "reserved bits 0x1000000000000000008" in err  # bits 72 and 3


@pytest.mark.parametrize("kernel", av.mainline_releases())
def test_cli_accepts_every_mainline_release(capsys, kernel):
    d = cli_json(capsys, "vm", "--vcpus", "8", "--kernel", kernel, "--avic", "default")
    assert d["kernel"] == f"v{kernel}" and d["starts"] is True
    assert d["avic_param"] == ("on" if kernel in ("6.18", "6.19") else "off")  # x2avic CPU by default
