"""Property tests (hypothesis) for the GATag, bit layouts, entries and the VM-ID allocator."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import avicviz as av
from avicviz.gatag import encode_array

# releases with a GATag (per-VM AVIC IDs): the first range of each, plus two inside ranges
KERNELS = [r.range_name.split("..")[0].lstrip("v") for r in av.release_ranges() if r.per_vm_id] + ["6.2", "6.16"]
COUNTER_KERNELS = [k for k in KERNELS if av.release(k).vm_id_allocator == "counter"]
kernels = st.sampled_from(KERNELS)
u32 = st.integers(0, 0xFFFFFFFF)


@given(kernels, u32, u32)
def test_lossless_exactly_when_both_fit(k, vm_id, vcpu):
    r = av.release(k)
    t = av.encode(vm_id, vcpu, k)
    fits = vm_id <= r.gatag_vm_id_mask and vcpu <= r.gatag_vcpu_mask
    assert t.lossless == fits
    # what decode reads back is the value masked to its field
    assert t.decoded_vm_id == vm_id & r.gatag_vm_id_mask
    assert t.decoded_vcpu == vcpu & r.gatag_vcpu_mask
    assert 0 <= t.tag <= 0xFFFFFFFF


@given(kernels, u32)
def test_decode_then_encode_round_trips_every_tag(k, tag):
    d = av.decode(tag, k)
    assert av.encode(d.decoded_vm_id, d.decoded_vcpu, k).tag == tag


@given(kernels)
def test_all_ones_invariant(k):
    r = av.release(k)
    assert av.encode(r.gatag_vm_id_mask, r.gatag_vcpu_mask, k).tag == 0xFFFFFFFF


@given(kernels, st.integers(1, 4096))
def test_aliasing_exactly_when_a_vcpu_exceeds_its_field(k, n):
    r = av.release(k)
    a = av.aliases(n, k)
    # dense ids 0..n-1: id == idx, so a vCPU aliases iff its number does not fit the field
    expected = [v for v in range(n) if v > r.gatag_vcpu_mask]
    assert a.aliased_vcpus == expected
    for v in expected[:5]:
        assert a.wakes(v) == v & r.gatag_vcpu_mask


@given(kernels, st.lists(st.integers(0, 4095), min_size=1, max_size=64, unique=True))
def test_aliases_with_sparse_ids(k, ids):
    r = av.release(k)
    a = av.aliases(ids, k)
    for i, v in enumerate(ids):
        field = v if r.gatag_vcpu_field == "vcpu_id" else i
        fits = field <= r.gatag_vcpu_mask
        if fits:
            assert a.wakes(v) == v
        else:
            d = field & r.gatag_vcpu_mask
            if r.gatag_vcpu_field == "vcpu_id":
                assert a.wakes(v) == (d if d in ids else None)
            else:
                assert a.wakes(v) == (ids[d] if d < len(ids) else None)


@given(kernels, st.lists(u32, min_size=1, max_size=50), st.lists(u32, min_size=1, max_size=50))
def test_vectorised_encode_matches_scalar(k, vms, vcpus):
    n = min(len(vms), len(vcpus))
    arr = encode_array(vms[:n], vcpus[:n], k)
    assert [int(x) for x in arr] == [av.encode(a, b, k).tag for a, b in zip(vms[:n], vcpus[:n])]


@given(kernels, st.integers(0, 0xFFF), st.integers(0, (1 << 40) - 1), st.booleans(), st.booleans())
def test_entry_round_trip(k, host, page_frame, running, valid):
    bits = av.release(k).host_apic_id_bits
    host &= (1 << bits) - 1
    v = av.encode_entry(host, page_frame << 12, running, valid, kernel=k)
    e = av.decode_entry(v, k)
    assert (e.host_apic_id, e.backing_page, e.is_running, e.valid, e.reserved_bits) == \
        (host, page_frame << 12, running, valid, 0)


@given(st.integers(0, (1 << 64) - 1))
def test_entry_decode_reports_reserved_bits(value):
    e = av.decode_entry(value, "6.19")
    assert e.reserved_bits == value & (((1 << 9) - 1) << 52 | 1 << 61)
    rebuilt = av.encode_entry(e.host_apic_id, e.backing_page, e.is_running, e.valid, "6.19") | e.reserved_bits
    assert rebuilt == value


@given(st.integers(0, (1 << 64) - 1))
def test_irte_halves_round_trip(lo):
    f = av.IRTE_GA_LO.unpack(lo)
    assert av.IRTE_GA_LO.pack(**f) | (lo & av.IRTE_GA_LO.reserved_mask) == lo


@settings(max_examples=50)
@given(st.sampled_from(COUNTER_KERNELS), st.lists(st.booleans(), min_size=1, max_size=300))
def test_vm_id_allocator_never_hands_out_zero_or_a_live_id_after_wrap(k, script):
    r = av.release(k)
    a = av.VMIDAllocator.for_kernel(k, next_vm_id=r.gatag_vm_id_mask - 5, wrapped=False)
    for create in script:
        if create or not a.live:
            a, vid = a.create()
            assert 1 <= vid <= r.gatag_vm_id_mask
            if a.wrapped:
                assert a.live.count(vid) == 1
        else:
            a = a.destroy(a.live[0])
    if a.wrapped:
        assert a.duplicates() == []


def test_vm_id_duplicates_possible_only_before_first_wrap():
    # Before the first wrap KVM does not check live VMs; a preset counter shows the window.
    a = av.VMIDAllocator.for_kernel("6.3")
    a, first = a.create()
    assert first == 1 and not a.wrapped
    a = av.VMIDAllocator.for_kernel("6.3", next_vm_id=av.release("6.3").gatag_vm_id_mask)
    a, x = a.create()
    assert x == 1 and a.wrapped


def test_vm_id_exhaustion_is_reported():
    class Tiny(av.VMIDAllocator):
        @property
        def mask(self):
            return 3
    a = Tiny(av.release("6.3"), 0, True, (1, 2, 3))
    with pytest.raises(RuntimeError, match="never end"):
        a.create()


def test_id_space_shrinks_24_23_20():
    assert [av.id_space(k) for k in ("6.2", "6.3", "6.19")] == [2**24 - 1, 2**23 - 1, 2**20 - 1]


@given(st.integers(1, 8), st.integers(1, 4), st.integers(1, 2), st.integers(1, 64), st.integers(1, 4))
def test_topology_ids_unique_and_fields_in_place(s, d, m, c, t):
    topo = av.Topology(sockets=s, dies=d, modules=m, cores=c, threads=t)
    ids = topo.apic_ids()
    assert ids.size == topo.vcpus == s * d * m * c * t
    assert np.unique(ids).size == ids.size
    off = topo.offsets()
    # the last vCPU has every coordinate at its maximum
    last = ((s - 1) << off["sockets"]) | ((d - 1) << off["dies"]) | ((m - 1) << off["modules"]) \
        | ((c - 1) << off["cores"]) | (t - 1)
    assert int(ids[-1]) == last == topo.max_apic_id


@settings(max_examples=80)
@given(st.sampled_from(av.mainline_releases()), st.sampled_from(av.CPU_KINDS),
       st.sampled_from(av.GUEST_APIC_MODES), st.sampled_from(av.AVIC_PARAMS), st.integers(1, 1023))
def test_sweep_agrees_with_simulate(k, cpu, mode, avic, n):
    s = av.sweep(k, cpu, mode, max_vcpus=1023, avic=avic)
    r = av.simulate(n, kernel=k, cpu=cpu, guest_apic=mode, avic=avic)
    assert bool(s.starts[n - 1]) == r.starts
    assert bool(s.avic_active[n - 1]) == r.avic_active
    assert int(s.accelerated[n - 1]) == r.accelerated_vcpus


@given(st.integers(0, 0xFFF))
def test_table_pages_are_the_smallest_power_of_two_holding_the_entries(max_physical_id):
    # 940fc47cfb0d (v6.19): the table is get_order((max_physical_id + 1) * 8) pages
    pages = av.pages_for(max_physical_id)
    entries = max_physical_id + 1
    assert pages & (pages - 1) == 0  # a power of two: 1, 2, 4 or 8
    assert pages * 512 >= entries  # it holds every entry
    assert pages == 1 or (pages // 2) * 512 < entries  # and half of it would not


@given(st.integers(1, 4096))
def test_table_pages_on_619_follow_max_vcpu_ids(n):
    pages = av.table_pages("6.19", "x2avic-ext", max_vcpu_ids=n)
    assert pages == av.pages_for(min(n - 1, 0xFFF)) and pages in (1, 2, 4, 8)


@given(st.lists(st.booleans(), min_size=1, max_size=200))
def test_bitmap_allocator_hands_out_the_lowest_free_id(script):
    # the first allocator (5ea11f2b31b8): a bitmap, IDs freed on destroy and reused
    a = av.VMIDAllocator.for_kernel("4.9")
    for create in script:
        if create or not a.live:
            live = set(a.live)
            a, vid = a.create()
            assert vid == min(set(range(1, len(live) + 2)) - live)
        else:
            a = a.destroy(a.live[0])
        assert a.duplicates() == [] and a.next_vm_id == 0
