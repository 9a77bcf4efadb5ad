"""Table-driven checks of every modelled release against ../shared/reference/avic-facts.md.

Each row below is transcribed from the facts sheet (sections 2, 4, 6), independently of
data/kernel_releases.csv, so an edit to the data file that contradicts the facts fails here.
"""

import pytest

import avicviz as av

# release asked for: (GATag vCPU bits, VM-ID bits, vCPU field,
#                     xAVIC max index, x2AVIC max index, X2AVIC_EXT max index,
#                     max-index mask, max table pages, past-limit behaviour)
# (4.7 has AVIC but no GATag yet: per-VM AVIC IDs came later, section 14; see test_facts_round2)
FACTS = {
    "4.7":  (None, None, None, 0xFF, None, None, 0xFF, 1, "einval"),
    "4.9":  (8, 24, "vcpu_id", 0xFF, None, None, 0xFF, 1, "einval"),
    "5.10": (8, 24, "vcpu_id", 0xFF, None, None, 0xFF, 1, "einval"),
    "5.19": (8, 24, "vcpu_id", 0xFF, None, None, 0xFF, 1, "einval"),
    "6.0":  (8, 24, "vcpu_id", 0xFE, 0x1FF, None, 0x3FF, 1, "einval"),
    "6.2":  (8, 24, "vcpu_id", 0xFE, 0x1FF, None, 0x3FF, 1, "einval"),
    "6.3":  (9, 23, "vcpu_id", 0xFE, 0x1FF, None, 0x1FF, 1, "einval"),
    "6.6":  (9, 23, "vcpu_id", 0xFE, 0x1FF, None, 0x1FF, 1, "einval"),
    "6.16": (9, 23, "vcpu_id", 0xFE, 0x1FF, None, 0x1FF, 1, "einval"),
    "6.17": (9, 23, "vcpu_idx", 0xFE, 0x1FF, None, 0x1FF, 1, "inhibit"),
    "6.18": (9, 23, "vcpu_idx", 0xFE, 0x1FF, None, 0x1FF, 1, "inhibit"),
    "6.19": (12, 20, "vcpu_idx", 0xFE, 0x1FF, 0xFFF, 0xFFF, 8, "inhibit"),
}


@pytest.mark.parametrize("kernel", sorted(FACTS))
def test_gatag_layout(kernel):
    vbits, mbits, fieldname, *_ = FACTS[kernel]
    if vbits is None:
        with pytest.raises(ValueError, match="has no GATag layout"):
            av.gatag_layout(kernel)
        return
    lay = av.gatag_layout(kernel)
    assert [f.name for f in lay] == [fieldname, "vm_id"]
    assert lay[fieldname].bits == f"{vbits - 1}:0"
    assert lay["vm_id"].bits == f"31:{vbits}"
    assert av.release(kernel).gatag_vm_id_bits == mbits


@pytest.mark.parametrize("kernel", sorted(FACTS))
def test_max_index_per_mode(kernel):
    _, _, _, xavic, x2avic, ext, mask, _, _ = FACTS[kernel]
    assert av.max_index(kernel, "avic", "xapic") == xavic
    assert av.max_index(kernel, "x2avic", "xapic") == xavic
    if x2avic is not None:
        assert av.max_index(kernel, "x2avic", "x2apic") == x2avic
    if ext is not None:
        assert av.max_index(kernel, "x2avic-ext", "x2apic") == ext
    else:  # an older kernel cannot use X2AVIC_EXT
        assert av.max_index(kernel, "x2avic-ext", "x2apic") == (x2avic if x2avic else xavic)
    assert av.vmcb_physical_table_layout(kernel)["max_index"].mask == mask


@pytest.mark.parametrize("kernel", sorted(FACTS))
def test_table_size(kernel):
    pages = FACTS[kernel][7]
    assert av.table_pages(kernel, "x2avic-ext") == pages
    assert av.table_pages(kernel, "x2avic") == 1
    assert av.table_pages(kernel, "avic") == 1


@pytest.mark.parametrize("kernel", sorted(FACTS))
def test_past_the_limit(kernel):
    behaviour = FACTS[kernel][8]
    # on an AVIC-only CPU ids 0..254 fit (<= v5.19: id < 255; v6.0+: max id 0xFE)
    r = av.simulate(256, kernel=kernel, cpu="avic", guest_apic="xapic")
    if behaviour == "einval":
        assert not r.starts
        assert r.failing_vcpu == 255 and "-EINVAL" in r.error
    else:
        assert r.starts and not r.avic_active
        assert r.inhibit_reasons == ("APICV_INHIBIT_REASON_PHYSICAL_ID_TOO_BIG",)
    ok = av.simulate(255, kernel=kernel, cpu="avic", guest_apic="xapic")
    assert ok.starts and ok.avic_active


def test_512_comes_from_one_page_of_u64():
    assert av.ENTRIES_PER_PAGE == 4096 // 8 == 512


@pytest.mark.parametrize("mode,limit", [("xavic", 255), ("x2avic", 511), ("x2avic-ext", 4095)])
def test_vmrun_check(mode, limit):
    assert av.vmrun_check(limit, mode) is None
    if limit < 0xFFF:  # 12 bits is the widest max-index field: nothing lies past 4095
        assert av.vmrun_check(limit + 1, mode) == "VMEXIT_INVALID"
    else:
        with pytest.raises(ValueError, match="max_index=4096"):
            av.vmrun_check(limit + 1, mode)


@pytest.mark.parametrize("kernel", sorted(FACTS))
def test_programmed_max_index_passes_vmrun(kernel):
    for cpu, mode, hw in [("avic", "xapic", "xavic"), ("x2avic", "x2apic", "x2avic"),
                          ("x2avic-ext", "x2apic", "x2avic-ext")]:
        if av.release(kernel).effective_cpu(cpu) != cpu:
            continue
        assert av.vmrun_check(av.max_index(kernel, cpu, mode), hw) is None


def test_600_vcpus_across_releases():
    # the learner-suite question: a 600-vCPU VM on 6.3, 6.17 and 6.19 with/without X2AVIC_EXT
    assert not av.simulate(600, kernel="6.3").starts
    r = av.simulate(600, kernel="6.17", cpu="x2avic-ext")
    assert r.starts and not r.avic_active
    r = av.simulate(600, kernel="6.19", cpu="x2avic")
    assert r.starts and not r.avic_active and r.inhibit_reasons == ("APICV_INHIBIT_REASON_PHYSICAL_ID_TOO_BIG",)
    r = av.simulate(600, kernel="6.19", cpu="x2avic-ext")
    assert r.starts and r.avic_active and r.accelerated_vcpus == 600


def test_gatag_bug_on_6_0_to_6_2():
    for k in ("6.0", "6.1", "6.2"):
        a = av.aliases(301, k)
        assert a.wakes(300) == 44
        assert av.aliases(301, "6.3").wakes(300) == 300


def test_qemu_topology_padding():
    t = av.Topology(sockets=3, cores=160, threads=1)
    assert t.vcpus == 480 and t.max_apic_id == 671
    assert int(t.apic_ids()[320]) == 512  # socket 2 starts at APIC ID 512
    assert av.Topology(sockets=2, cores=240).max_apic_id == 495
    r = av.simulate(topology=t, kernel="6.3")
    assert not r.starts and "vcpu_id 512" in r.error


def test_inhibit_reason_bits():
    from avicviz.vm import INHIBIT_REASONS
    assert INHIBIT_REASONS[11] == "APICV_INHIBIT_REASON_LOGICAL_ID_ALIASED"
    assert INHIBIT_REASONS[12] == "APICV_INHIBIT_REASON_PHYSICAL_ID_TOO_BIG"


def test_x2apic_guest_before_x2avic_is_inhibited():
    r = av.simulate(8, kernel="5.19", cpu="x2avic", guest_apic="x2apic")
    assert r.starts and not r.avic_active and r.inhibit_reasons == ("APICV_INHIBIT_REASON_X2APIC",)
