"""Explorers for notebook 1: the physical APIC ID table and one 64-bit entry."""

from __future__ import annotations

import html

import ipywidgets as W

from ..layouts import ENTRIES_PER_PAGE, physical_entry_layout
from ..releases import release, release_ranges as releases
from ..tables import HW_MAX_INDEX, decode_entry, encode_entry, load_entry, physical_table, vmrun_check
from ..vm import simulate
from ..plots.tables import (DEFAULT_RUNNING_PERCENT, SwitchableBitField, physical_grid, running_mask,
                            update_physical_grid)
from ._base import Explorer
from .controls import KERNELS, avic_dropdown, kvm_max_dropdown, kvm_max_vcpus, cpu_dropdown, freeze_layout, guest_dropdown, kernel_dropdown, slider

__all__ = ["KERNELS", "PhysicalTableExplorer", "EntryExplorer", "running_mask"]




class PhysicalTableExplorer(Explorer):
    """A VM's physical APIC ID table: how many entries, how many pages, where the max index ends.

    Controls: number of vCPUs (dense APIC IDs 0..n-1), the guest's APIC mode, the CPU's AVIC
    capability, the Linux release, and the share of vCPUs on a pCPU right now (IsRunning).
    """

    figsize = (9.0, 4.6)
    title = "Physical APIC ID table"

    def _make_controls(self):
        return {
            "vcpus": slider("vCPUs", 300, 1, 4096),
            "guest_apic": guest_dropdown(),
            "cpu": cpu_dropdown(),
            "kernel": kernel_dropdown("6.19"),
            "avic": avic_dropdown(),
            "kvm_max_vcpus": kvm_max_dropdown(),
            "running": slider("% running", DEFAULT_RUNNING_PERCENT, 0, 100, step=5),
        }

    #: The figure's fixed title: the release, pages, entries, max index and valid entries are in
    #: the readout (a title of 85 glyphs drawn again on every change cost more than the grid).
    grid_title = "Physical APIC ID table: one cell per entry (the numbers are under the picture)"

    def _draw(self):
        self.ax = self.figure.add_subplot()
        self.grid = physical_grid(physical_table(range(4096), "6.19", "x2avic-ext"), self.ax,
                                  title=self.grid_title)
        freeze_layout(self.figure)
        g = self.grid
        self.dynamic = [g.image, g.page_lines, g.boundary]
        self.table = None

    def _update(self):
        p = self.params
        r = release(p["kernel"])
        n = p["vcpus"]
        kmax = kvm_max_vcpus(p["kvm_max_vcpus"], r)
        limit = r.vcpu_id_limit(kmax)
        n_sim = min(n, limit)
        run = running_mask(n_sim, p["running"])
        rep = simulate(n_sim, kernel=r, cpu=p["cpu"], guest_apic=p["guest_apic"], running=run,
                       avic=p["avic"], kvm_max_vcpus=kmax)
        created = n_sim if rep.starts else int(rep.failing_vcpu)
        table = physical_table(range(created), r, p["cpu"], p["guest_apic"], running=run[:created])
        if self.table is None or table.pages != self.table.pages:
            self.relayout(table.pages)  # the grid's shape, limits and tick labels change
        update_physical_grid(self.grid, table, title=False)
        self.model = rep
        self.table = table
        self.readout.value = self._readout(rep, table, n, limit, created)

    @staticmethod
    def _readout(rep, table, n, limit, created) -> str:
        r = rep.kernel
        mi = table.max_index
        mode = r.avic_mode(rep.cpu, rep.guest_apic)  # the model's rule (Release.avic_mode)
        check = vmrun_check(mi, mode)
        st = table.state()
        lines = [
            f"<b>{r.name}</b>: <b>max index</b> {mi} (0x{mi:X}) in VMCB 0xF8; table: <b>{table.pages}</b> page"
            f"{'s' if table.pages > 1 else ''} x {ENTRIES_PER_PAGE} entries = {table.entries.size}",
            f"VMRUN check ({mode}, hardware limit {HW_MAX_INDEX[mode]}): "
            + ("accepted" if check is None else f"<b>fails with {check}</b>"),
        ]
        if n > limit:
            lines.append(f"{n} vCPUs: KVM's vCPU-ID limit on {r.name} is {limit}; "
                         f"KVM_CREATE_VCPU refuses ids from {limit} on")
        if rep.starts:
            lines.append("<b>the VM starts</b>; AVIC " + html.escape(rep.avic_status))
        else:
            lines.append(f"<b>the VM does not start</b>: {html.escape(rep.error or '')} "
                         f"(the grid shows the {created} vCPUs created before that)")
        running = int((st == 2).sum())
        valid = int((st > 0).sum())
        lines.append(f"entries: {valid} valid, {running} with IsRunning = 1, "
                     f"{int((st == 3).sum())} beyond the max index; "
                     f"{created - valid} vCPU{'s' if created - valid != 1 else ''} without an entry")
        lines += [html.escape(x) for x in rep.notes]
        return "<br>".join(lines)


class EntryExplorer(Explorer):
    """One 64-bit physical APIC ID table entry: set its fields, read its value and meaning."""

    figsize = (10.0, 3.2)
    title = "Physical APIC ID table entry"

    def _make_controls(self):
        return {
            "host_apic_id": slider("host APIC ID", 7, 0, 4095),
            # an address, as the lessons, their checks and `avicviz entry decode` write it
            "backing_page": W.Text(value="0x123456000", description="backing page",
                                   placeholder="address, e.g. 0x123456000",
                                   tooltip="host physical address of the vAPIC backing page "
                                           "(4 KiB aligned), hex 0x... or decimal",
                                   continuous_update=False, layout=W.Layout(width="18em")),
            "is_running": W.Checkbox(value=True, description="IsRunning", indent=False,
                                     layout=W.Layout(width="8em")),
            "valid": W.Checkbox(value=True, description="Valid", indent=False,
                                layout=W.Layout(width="6em")),
            "kernel": kernel_dropdown("6.19"),
        }

    def set(self, **params):
        """As :meth:`Explorer.set`; ``backing_page`` may also be given as an int address."""
        page = params.get("backing_page")
        if isinstance(page, int) and not isinstance(page, bool):
            params["backing_page"] = f"0x{page:X}"
        return super().set(**params)

    def _address(self) -> tuple[int, str | None]:
        """The backing page address typed in, or the last good one and why the text was not used."""
        text = str(self.params["backing_page"])
        try:
            addr = int(text.strip().replace("_", "").replace(",", ""), 0)
        except ValueError:
            why = f"{text!r} is not a number"
        else:
            try:
                encode_entry(0, addr, False)  # the model's own range and alignment check
            except ValueError as e:
                why = str(e)
            else:
                why = None
        if why is not None:
            return self._last_address, (
                f"backing page not changed: {why}. Type a 4 KiB-aligned host physical address, "
                f"0x0 to 0x{(1 << 52) - 4096:X}, in hex (0x123456000) or decimal")
        self._last_address = addr
        return addr, None

    _last_address = 0x123456000

    def _draw(self):
        spec = self.figure.add_gridspec(1, 1)[0]
        layouts = list(dict.fromkeys(physical_entry_layout(r) for r in releases()))
        self.bits = SwitchableBitField(self.figure, spec, layouts, {}, row_bits=32)
        freeze_layout(self.figure)
        self.dynamic = self.bits.texts()

    def _update(self):
        p = self.params
        r = release(p["kernel"])
        lay = physical_entry_layout(r)
        top = lay["host_apic_id"].max_value
        host = p["host_apic_id"]
        fits = host <= top  # else avic_vcpu_load WARNs and writes nothing (load_entry)
        address, problem = self._address()
        value = (encode_entry(host, address, p["is_running"], p["valid"], r) if fits
                 else load_entry(encode_entry(0, address, False, p["valid"], r), host, r).after)
        self.bits.show(lay, value)
        if self.bits.switched:
            self.relayout(lay)  # the figure shows this release's layout, nothing else changed
        e = decode_entry(value, r)
        self.model = e
        lines = [f"<b>entry = {e.hex}</b> on {r.name}: host_apic_id {e.host_apic_id} "
                 f"(bits {lay['host_apic_id'].bits}), backing page 0x{e.backing_page:X}, "
                 f"IsRunning {int(e.is_running)}, Valid {int(e.valid)}"]
        if problem:
            lines.append(html.escape(problem))
        if not fits:
            lines.append(f"host APIC ID {host} does not fit the {lay['host_apic_id'].width}-bit "
                         f"field of {r.name} (0..{top}): KVM WARNs and writes nothing, so IsRunning "
                         "stays 0 and nothing is truncated. 4a204f789587 ('Allow AVIC support on "
                         "system w/ physical APIC ID &gt; 255', v5.18) widened the field to 12 bits")
        if not e.valid:
            lines.append("Valid = 0: an IPI to this APIC ID exits with AVIC_INCOMPLETE_IPI, "
                         "cause INVALID_TARGET")
        elif e.is_running:
            lines.append(f"an IPI sets the IRR bit in the backing page and rings the doorbell of "
                         f"host APIC ID {e.host_apic_id}: no VM exit")
        else:
            lines.append("an IPI sets the IRR bit, then exits with AVIC_INCOMPLETE_IPI, cause "
                         "TARGET_NOT_RUNNING, so that KVM wakes the vCPU")
        self.readout.value = "<br>".join(lines)
