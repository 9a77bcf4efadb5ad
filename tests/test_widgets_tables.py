"""PhysicalTableExplorer and EntryExplorer: every control, at its ends and between, moves the
artists the learner sees and never raises."""

import numpy as np
import pytest

from avicviz.widgets._base import plain_text

from avicviz.releases import CPU_KINDS, GUEST_APIC_MODES
from avicviz.widgets.tables import KERNELS, EntryExplorer, PhysicalTableExplorer, running_mask


@pytest.fixture(scope="module")
def table():
    return PhysicalTableExplorer()


@pytest.fixture(scope="module")
def entry():
    return EntryExplorer()


def _cells(e):
    return np.asarray(e.grid.states).ravel()


def test_kernel_choices_cover_every_mainline_release():
    assert KERNELS[0] == "6.19" and KERNELS[-1] == "4.7"
    assert "4.20" in KERNELS and "5.19" in KERNELS and "6.2" in KERNELS
    assert len(KERNELS) == 14 + 20 + 20


def test_defaults(table):
    table.reset()
    cells = _cells(table)
    assert cells.size == 512
    assert int((cells > 0).sum()) == 300 and int((cells == 2).sum()) == 225
    assert "max index 511 (0x1FF)" in plain_text(table.readout.value)
    assert plain_text(table.readout.value).startswith(f"{table.model.kernel.name}: max index")
    assert table.grid.title.get_text() == table.grid_title  # the figure's title stays put
    assert "the VM starts" in table.readout.value
    assert "225 with IsRunning = 1" in table.readout.value


@pytest.mark.parametrize("vcpus", [1, 2, 255, 256, 511, 512, 513, 1000, 2048, 4095, 4096])
@pytest.mark.parametrize("kernel", ["4.7", "5.19", "6.2", "6.3", "6.17", "6.19"])
def test_vcpus_across_releases_never_raise(table, vcpus, kernel):
    before = table.updates
    table.set(vcpus=vcpus, kernel=kernel, cpu="x2avic-ext", guest_apic="x2apic", running=100)
    assert table.updates == before + 1 and table.error.value == ""
    cells = _cells(table)
    assert cells.size == table.table.entries.size
    assert int((cells > 0).sum()) == min(vcpus, table.table.entries.size,
                                         table.model.failing_vcpu if not table.model.starts else vcpus)


def test_eight_pages_then_back(table):
    table.set(kernel="6.19", cpu="x2avic-ext", guest_apic="x2apic", vcpus=4096, running=50)
    assert table.grid.states.shape == (128, 32)
    assert "8 pages" in plain_text(table.readout.value) and "max index 4095" in plain_text(table.readout.value)
    # KVM_MAX_VCPUS is v6.19's default, 1024 (stated in the readout): vCPU #1024 is refused
    assert "KVM_MAX_VCPUS is 1024" in table.readout.value
    assert "KVM_MAX_VCPUS 1024 (v6.19&#x27;s default" in table.readout.value
    assert int((_cells(table) == 2).sum()) == 512
    table.set(cpu="x2avic", vcpus=1000)
    assert table.grid.states.shape == (16, 32)
    assert "the VM starts" in table.readout.value and "inhibited" in table.readout.value
    assert "PHYSICAL_ID_TOO_BIG" in table.readout.value


def test_600_vcpus_on_63_do_not_start(table):
    table.set(kernel="6.3", cpu="x2avic", guest_apic="x2apic", vcpus=600, running=100)
    assert "the VM does not start" in table.readout.value
    assert "vCPU #512" in table.readout.value
    assert int((_cells(table) > 0).sum()) == 512


def test_xapic_guest_marks_entries_beyond_max_index(table):
    table.set(kernel="6.19", cpu="x2avic-ext", guest_apic="xapic", vcpus=300, running=100)
    cells = _cells(table)
    assert (cells[255:300] == 3).all()
    assert "max index 254 (0xFE)" in plain_text(table.readout.value)
    assert list(table.grid.boundary.get_xdata()) == [0.0, 31.0, 31.0, 32.0]


@pytest.mark.parametrize("guest_apic", GUEST_APIC_MODES)
@pytest.mark.parametrize("cpu", CPU_KINDS)
def test_modes_and_cpus(table, guest_apic, cpu):
    table.set(kernel="6.19", vcpus=100, guest_apic=guest_apic, cpu=cpu, running=100)
    assert table.error.value == ""
    expected = 254 if guest_apic == "xapic" or cpu == "avic" else (4095 if cpu == "x2avic-ext" else 511)
    assert table.table.max_index == expected
    assert f"max index {expected}" in plain_text(table.readout.value)


def test_old_kernel_x2apic_guest_is_inhibited(table):
    table.set(kernel="5.10", vcpus=8, guest_apic="x2apic", cpu="x2avic", running=100)
    assert "APICV_INHIBIT_REASON_X2APIC" in table.readout.value


@pytest.mark.parametrize("running", [0, 5, 50, 95, 100])
def test_running_share(table, running):
    table.set(kernel="6.19", vcpus=200, guest_apic="x2apic", cpu="x2avic", running=running)
    assert int((_cells(table) == 2).sum()) == int(running_mask(200, running).sum())
    assert int(running_mask(200, running).sum()) == 200 * running // 100


def test_bad_input_names_the_parameter(table):
    with pytest.raises(ValueError, match="vcpus=0 is out of range: valid range 1..4096"):
        table.set(vcpus=0)
    with pytest.raises(ValueError, match="kernel='7.0' is not an option"):
        table.set(kernel="7.0")


# ---- EntryExplorer -----------------------------------------------------------------------

def _shown(e):
    return e.bits.artists[e.bits.current]


def test_entry_defaults(entry):
    entry.reset()
    arts = _shown(entry)
    assert arts.value_text.get_text().endswith("0xC000000123456007")
    assert arts.values["host_apic_id"].get_text() == "0x007"
    assert "rings the doorbell of host APIC ID 7" in entry.readout.value


@pytest.mark.parametrize("host", [0, 1, 255, 256, 2048, 4095])
@pytest.mark.parametrize("kernel", ["4.7", "5.17", "5.18", "6.19"])
def test_entry_host_apic_id(entry, host, kernel):
    entry.set(host_apic_id=host, kernel=kernel, backing_page=0x123456000, is_running=True, valid=True)
    assert entry.error.value == ""
    bits = 8 if kernel in ("4.7", "5.17") else 12
    fits = host < (1 << bits)
    # before 4a204f789587 (5.18) KVM WARNs and writes nothing for a host APIC ID > 255:
    # the entry keeps host APIC ID 0 and IsRunning 0; nothing is truncated
    stored = host if fits else 0
    assert entry.model.host_apic_id == stored and entry.model.is_running is fits
    assert int(_shown(entry).value_text.get_text().split("= ")[1], 16) & 0xFFF == stored
    assert ("does not fit" in entry.readout.value) is (not fits)
    assert ("writes nothing, so IsRunning stays 0" in entry.readout.value) is (not fits)


@pytest.mark.parametrize("page", [0, 1, 0x123456, (1 << 40) - 1])
def test_entry_backing_page(entry, page):
    entry.set(backing_page=page << 12, host_apic_id=0, kernel="6.19", is_running=False, valid=True)
    assert entry.model.backing_page == page << 12
    assert _shown(entry).value_text.get_text().endswith(f"{(1 << 63) | (page << 12):016X}")


@pytest.mark.parametrize("typed, address", [("0x2000", 0x2000), ("8192", 0x2000),
                                            ("0x1_2345_6000", 0x123456000), ("0XFFFFFFFFFF000", 0xFFFFFFFFFF000)])
def test_entry_backing_page_is_typed_as_an_address(entry, typed, address):
    entry.set(host_apic_id=5, kernel="6.19", is_running=False, valid=True)
    entry.controls["backing_page"].value = typed  # as a learner types it
    assert entry.controls["backing_page"].description == "backing page"
    assert entry.model.backing_page == address
    assert "not changed" not in entry.readout.value


@pytest.mark.parametrize("typed, why", [("0x2001", "not 4 KiB aligned"), ("page 2", "is not a number"),
                                        ("0x10000000000000", "out of range")])
def test_entry_backing_page_bad_address_is_explained(entry, typed, why):
    entry.set(backing_page=0x2000, host_apic_id=5, kernel="6.19", is_running=True, valid=True)
    entry.controls["backing_page"].value = typed
    assert entry.error.value == ""
    assert entry.model.backing_page == 0x2000  # the last good address stays
    assert "backing page not changed" in entry.readout.value and why in entry.readout.value
    assert "0xFFFFFFFFFF000" in entry.readout.value


def test_entry_flags(entry):
    entry.set(host_apic_id=7, backing_page=0x1000, kernel="6.19", is_running=False, valid=True)
    assert _shown(entry).digits.text(62) == "0" and _shown(entry).digits.text(63) == "1"
    assert "TARGET_NOT_RUNNING" in entry.readout.value
    entry.set(valid=False)
    assert _shown(entry).digits.text(63) == "0"
    assert "INVALID_TARGET" in entry.readout.value
    entry.set(valid=True, is_running=True)
    assert _shown(entry).digits.text(62) == "1"
    assert "no VM exit" in entry.readout.value


def test_entry_layout_switches_in_place(entry):
    n_axes = len(entry.figure.axes)
    entry.set(kernel="5.10")
    assert _shown(entry).layout["host_apic_id"].bits == "7:0"
    entry.set(kernel="6.19")
    assert _shown(entry).layout["host_apic_id"].bits == "11:0"
    assert len(entry.figure.axes) == n_axes
    visible = [ax for ax in entry.figure.axes if ax.get_visible()]
    assert len(visible) == 1



def test_table_default_halts_vcpus_0_4_8_like_the_static_figure():
    t = PhysicalTableExplorer()
    assert t.table.state()[:8].tolist() == [1, 2, 2, 2, 1, 2, 2, 2]  # 1 = valid, halted



def test_a_page_count_seen_before_is_not_drawn_again_and_looks_the_same():
    """Switching the CPU back and forth on v6.19 (x2AVIC: one page; x2AVIC with 4096 IDs: eight):
    the grid of each page count is drawn once; going back paints its kept picture, the same
    pixels as a new explorer's."""
    ex = PhysicalTableExplorer(kernel="6.19", cpu="x2avic")
    ex.render()
    draws = []
    real = ex.canvas.draw
    ex.canvas.draw = lambda: (draws.append(ex.table.pages), real())[1]
    for cpu in ("x2avic-ext", "x2avic", "x2avic-ext", "x2avic", "x2avic-ext"):
        ex.set(cpu=cpu, vcpus=ex.params["vcpus"] + 100)
        ex.render()
    assert draws == [8]  # one page was drawn by render() above; eight pages once
    fresh = PhysicalTableExplorer(kernel="6.19", cpu="x2avic-ext", vcpus=ex.params["vcpus"])
    assert np.array_equal(ex.render(), fresh.render())
