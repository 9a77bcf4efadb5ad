"""IPI paths, the physical/logical tables and the device-interrupt path."""

import numpy as np
import pytest

import avicviz as av
from avicviz.vm import IPI_PATHS


def test_xapic_guest_on_x2avic_host_has_invalid_targets():
    # v6.0..v6.16: ids up to 511 may be created, but an xAPIC-mode guest's max index is 0xFE
    r = av.simulate(300, kernel="6.3", cpu="x2avic", guest_apic="xapic")
    assert r.starts and r.avic_active and r.max_index == 0xFE
    assert r.path_of(254) == "accelerated" and r.path_of(255) == "invalid_target"
    r = av.simulate(300, kernel="6.2", cpu="x2avic", guest_apic="xapic")
    assert r.path_of(299) == "invalid_target_dropped"  # KVM emulates INVALID_TARGET only since v6.3


def test_enable_ipiv_off():
    r = av.simulate(8, kernel="6.17", enable_ipiv=False)
    assert r.path_counts()["target_not_running"] == 8 and r.accelerated_vcpus == 0


def test_not_started_and_inhibited_paths():
    assert set(av.simulate(600, kernel="6.3").path_counts()) == set(IPI_PATHS)
    assert av.simulate(600, kernel="6.3").path_counts()["not_created"] == 600
    assert av.simulate(600, kernel="6.17").path_counts()["emulated"] == 600


def test_kvm_max_vcpus_limit():
    r = av.simulate(1100, kernel="6.19", cpu="x2avic-ext", kvm_max_vcpus=1024)
    assert not r.starts and r.failing_vcpu == 1024 and "KVM_MAX_VCPUS is 1024" in r.error
    assert av.simulate(300, kernel="5.10", cpu="avic", guest_apic="xapic").failing_vcpu == 255


def test_max_vcpu_ids_shrinks_the_v6_19_table():
    r = av.simulate(600, kernel="6.19", cpu="x2avic-ext", max_vcpu_ids=600)
    assert r.max_index == 599 and r.table_pages == 2 and r.avic_active
    r = av.simulate(apic_ids=[0, 700], kernel="6.19", cpu="x2avic-ext", max_vcpu_ids=600)
    assert not r.starts and "vcpu_id 700" in r.error


def test_partial_avic_whatif():
    r = av.simulate(topology="sockets=3,cores=160", kernel="6.3", policy="partial-avic")
    c = r.path_counts()
    assert r.starts and r.avic_active and c["accelerated"] == 320 and c["invalid_target"] == 160
    assert any("WHAT-IF" in n for n in r.notes)
    assert r.gatag_aliased_vcpus == []  # vCPUs outside the table are not posted at all


def test_physical_table_states():
    t = av.physical_table(range(600), "6.19", cpu="x2avic-ext", running=[i % 2 == 0 for i in range(600)])
    st = t.state()
    assert t.pages == 8 and st.size == 4096
    assert list(st[:4]) == [2, 1, 2, 1] and st[600] == 0
    t = av.physical_table(range(4), "6.3", guest_apic="xapic")
    assert t.max_index == 0xFE
    t = av.physical_table([0, 300], "6.3", guest_apic="xapic")
    assert list(t.state()[[0, 300]]) == [2, 3]  # entry 300 lies beyond the xAPIC max index


def test_logical_table_rules_by_release():
    assert av.logical_index(0x03, "flat", "6.2") == 0       # pre-6.3: lowest bit (UNVERIFIED)
    assert av.logical_index(0x03, "flat", "6.3") is None    # 6.3+: exactly one bit
    t = av.logical_table({0: 1, 1: 1}, "flat", "6.2")
    assert t.aliased == (0, 1) and t.inhibit is None
    assert av.logical_table({0: 1, 1: 1}, "flat", "6.3").inhibit == "APICV_INHIBIT_REASON_LOGICAL_ID_ALIASED"
    lt = av.logical_table({i: av.tables.default_ldr(i, "cluster") for i in range(60)}, "cluster", "6.3")
    assert lt.aliased == () and int(lt.entries[59]) == (1 << 31) | 59


@pytest.mark.parametrize("is_run,ga_log,guest,outcome", [
    (True, True, True, "doorbell"), (False, True, True, "ga_log"),
    (False, False, True, "irr_only"), (True, True, False, "remapped"),
])
def test_device_interrupt_outcomes(is_run, ga_log, guest, outcome):
    e = av.make_irte(av.encode(1, 5, "6.3").tag, 0x41, destination=0x1234, is_run=is_run,
                     ga_log_intr=ga_log, guest_mode=guest)
    d = av.deliver(e, "6.3", vm_id=1, vcpu_ids=8, intended_vcpu=5)
    assert d.outcome == outcome
    if outcome == "ga_log":
        assert d.woken_vcpu == 5 and not d.wrong_vcpu
        assert av.GA_LOG_ENTRY.unpack(d.ga_log_entry) == {"ga_tag": e.fields()["ga_tag"], "device_id": 0x100, "type": 1}


def test_wrong_tag_wakes_wrong_vcpu_and_idx_lookup():
    t = av.encode(1, 300, "6.2").tag
    d = av.deliver(av.make_irte(t, 0x41), "6.2", vm_id=1, vcpu_ids=301, intended_vcpu=300)
    assert d.woken_vcpu == 44 and d.wrong_vcpu
    # v6.17+: the tag holds the index; sparse APIC IDs are found by position
    ids = [0, 2, 4, 6]
    d = av.deliver(av.make_irte(av.encode(1, 3, "6.17").tag, 0x41), "6.17", vm_id=1, vcpu_ids=ids, intended_vcpu=6)
    assert d.woken_vcpu == 6 and not d.wrong_vcpu
    d = av.deliver(av.make_irte(av.encode(2, 3, "6.17").tag, 0x41), "6.17", vm_id=1, vcpu_ids=ids)
    assert d.woken_vcpu is None


def test_irte_128_bit_layout():
    e = av.make_irte(0xDEADBEEF, 0x41, destination=0xAB123456, backing_page=0x123456000, is_run=True)
    v = e.value
    assert (v >> 32) & 0xFFFFFFFF == 0xDEADBEEF
    assert (v >> 8) & 0xFFFFFF == 0x123456 and (v >> (64 + 56)) & 0xFF == 0xAB
    assert (v >> 64) & 0xFF == 0x41 and (v >> (64 + 12)) & ((1 << 40) - 1) == 0x123456
    assert v & 0b11000101 == 0b11000101  # valid, ga_log_intr, is_run, guest_mode
    assert av.IRTE.from_value(v) == e and e.destination == 0xAB123456


def test_target_not_running():
    r = av.simulate(4, kernel="6.3", running=[True, False, True, False])
    assert [r.path_of(i) for i in range(4)] == ["accelerated", "target_not_running"] * 2
    with pytest.raises(ValueError, match="running has 3 values: valid length 4"):
        av.simulate(4, running=[True] * 3)


def test_hybrid_avic_for_x2apic_guests_without_x2avic():
    r = av.simulate(8, kernel="6.3", cpu="avic", guest_apic="x2apic")
    assert r.avic_active and r.inhibit_reasons == () and r.path_counts()["send_exits"] == 8
    assert r.max_index == 0xFE and any("hybrid" in n for n in r.notes)
    r = av.simulate(8, kernel="5.19", cpu="avic", guest_apic="x2apic")
    assert not r.avic_active and r.inhibit_reasons == ("APICV_INHIBIT_REASON_X2APIC",)
