"""Release parsing, the release table's own checks, and bad-input messages."""

import re

import pytest

import avicviz as av
from avicviz.releases import DATA_FILE, _load


@pytest.mark.parametrize("text,name", [("6.3", "v6.3"), ("v6.3", "v6.3"), ("6.1.20", "v6.1.20"),
                                       ("v6.19-rc3", "v6.19"), ("4.7", "v4.7"), (" 6.5 ", "v6.5")])
def test_accepted_versions(text, name):
    assert av.release(text).name == name


@pytest.mark.parametrize("text,msg", [
    ("4.6", "older than AVIC support"),
    ("3.10", "older than AVIC support"),
    ("7.0", "newer than the newest modelled release"),
    ("6.20", "newer than the newest modelled release"),
    ("5.20", "is not a mainline Linux release"),
    ("six", "is not a Linux version"),
    ("6", "is not a Linux version"),
    ("6.3.x", "is not a Linux version"),
])
def test_rejected_versions(text, msg):
    with pytest.raises(ValueError, match=msg) as e:
        av.release(text)
    assert repr(text) in str(e.value)


def test_default_is_newest():
    assert av.release(None).name == av.newest().name == "v6.19"


def test_ranges_are_contiguous_mainline():
    rs = av.release_ranges()
    assert rs[0].first == (4, 7)
    for a, b in zip(rs, rs[1:]):
        assert a.last < b.first


def _damaged(tmp_path, edit):
    text = DATA_FILE.read_text()
    p = tmp_path / "kernel_releases.csv"
    p.write_text(edit(text))
    return p


@pytest.mark.parametrize("edit,row,col", [
    (lambda t: t.replace("6.3,6.5,off,no,yes,counter,9,23", "6.3,6.5,off,no,yes,counter,nine,23"), 11,
     "gatag_vcpu_bits"),
    (lambda t: t.replace("6.3,6.5,off,no,yes,counter,9,23", "6.3,6.5,off,no,yes,counter,9,22"), 11,
     "gatag_vm_id_bits"),
    (lambda t: t.replace("6.17,6.17,off,no,yes,counter,9,23,vcpu_idx", "6.17,6.17,off,no,yes,counter,9,23,vcpu_index"),
     14, "gatag_vcpu_field"),
    (lambda t: t.replace("6.19,6.19,", "6.18,6.19,"), 16, "first"),
    (lambda t: t.replace(",0x1FF,no,1,einval", ",0x1FF,maybe,1,einval", 1), 11, "max_index_from_max_vcpu_ids"),
    (lambda t: t.replace("4.7,4.7,off,yes,no,none", "4.7,4.7,auto,yes,no,none"), 2, "avic_default"),
    (lambda t: t.replace("4.9,4.13,off,yes,yes,bitmap", "4.9,4.13,off,yes,yes,none"), 4, "vm_id_allocator"),
    (lambda t: t.replace(",hidden,", ",x2avic,", 1), 2, "x2apic_guest_without_x2avic"),
    (lambda t: t.replace("past_limit", "pastlimit"), 1, "past_limit"),
])
def test_damaged_table_names_file_row_and_column(tmp_path, edit, row, col):
    p = _damaged(tmp_path, edit)
    with pytest.raises(ValueError) as e:
        _load(p)
    msg = str(e.value)
    assert str(p) in msg and f"row {row}" in msg and repr(col) in msg


def test_missing_table_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="cannot read the release table"):
        _load(tmp_path / "nope.csv")


def test_short_row(tmp_path):
    p = _damaged(tmp_path, lambda t: t.rstrip("\n").rsplit("\n", 1)[0] + "\n6.19,6.19,12\n")
    with pytest.raises(ValueError, match=r"row 16.*wrong number of cells"):
        _load(p)


RANGE = re.compile(r"valid (range|values)")


@pytest.mark.parametrize("call", [
    lambda: av.encode(-1, 0),
    lambda: av.encode(0, 1 << 32),
    lambda: av.encode(1 << 32, 0),
    lambda: av.encode(1.5, 0),
    lambda: av.decode(1 << 32),
    lambda: av.decode(-5),
    lambda: av.simulate(0),
    lambda: av.simulate(5000, kernel="6.3"),
    lambda: av.simulate(2000, kernel="5.10"),
    lambda: av.simulate(4, cpu="zen5"),
    lambda: av.simulate(4, guest_apic="x3apic"),
    lambda: av.simulate(4, policy="yolo"),
    lambda: av.simulate(topology="sockets=0,cores=2"),
    lambda: av.simulate(topology="sockets=-1,cores=2"),
    lambda: av.simulate(apic_ids=[0, 1, 70000]),
    lambda: av.simulate(4, kvm_max_vcpus=8000),
    lambda: av.Topology(cores=0),
    lambda: av.max_index("6.3", "x2avic", "x2apic", max_vcpu_ids=0),
    lambda: av.encode_entry(4096, 0, True),
    lambda: av.decode_entry(1 << 64),
    lambda: av.vmrun_check(-1, "x2avic"),
    lambda: av.logical_index(256, "flat"),
    lambda: av.make_irte(1 << 32, 0),
    lambda: av.VMIDAllocator.for_kernel("6.19", next_vm_id=1 << 20),
])
def test_bad_input_names_parameter_value_and_range(call):
    with pytest.raises(ValueError) as e:
        call()
    msg = str(e.value)
    assert "=" in msg and RANGE.search(msg), msg


def test_duplicate_apic_ids():
    with pytest.raises(ValueError, match="APIC ID 3 twice"):
        av.simulate(apic_ids=[1, 3, 3])


def test_truncation_is_not_an_error():
    t = av.encode(1, 600, "6.3")
    assert not t.lossless and t.decoded_vcpu == 600 & 0x1FF


def test_mode_specific_values():
    with pytest.raises(ValueError, match="valid values avic, x2avic, x2avic-ext"):
        av.max_index("6.3", "none")
    with pytest.raises(ValueError, match="does not exist on v5.10"):
        av.simulate(4, kernel="5.10", max_vcpu_ids=8)
