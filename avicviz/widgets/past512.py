"""Explorers for notebook 03: a VM past 512 vCPUs, the sweep over vCPU counts, the cost view."""

from __future__ import annotations

import html
from functools import lru_cache

import ipywidgets as W
import numpy as np

from ..plots.past512 import (ASSUMED_COSTS, CODE_COLOURS, COST_SOURCE, NO_VCPU, all_sweeps, cost_axis_top,
                             legend_entries, cost_chart, report_cost,
                             sweep_chart, update_cost_chart, update_sweep_chart, update_vm_paths,
                             show_codes, vm_paths, vm_title, cost_title, sweep_title)
from ..releases import release, release_ranges as releases
from ..topology import Topology
from ..vm import POLICIES, simulate, sweep
from ._base import Explorer
from .controls import STYLE, avic_dropdown, kvm_max_dropdown, kvm_max_vcpus, cpu_dropdown, freeze_layout, guest_dropdown, kernel_dropdown, row, slider

__all__ = ["Past512Explorer", "SweepExplorer", "CostExplorer", "RANGE_OPTIONS"]

#: One entry per modelled range (its first release), for "highlight".
RANGE_OPTIONS = [(r.range_name, f"{r.first[0]}.{r.first[1]}") for r in releases()]
_POLICY_OPTIONS = [("kernel (what Linux does)", "kernel"),
                   ("partial-avic (what-if, never merged)", "partial-avic")]
assert [v for _k, v in _POLICY_OPTIONS] == list(POLICIES)


def _policy() -> W.Dropdown:
    return W.Dropdown(options=_POLICY_OPTIONS, value="kernel", description="policy", style=STYLE,
                      layout=W.Layout(width="22em"))


def legend_html(entries) -> str:
    """The per-VM image's legend as HTML swatches with counts (faster than a figure legend)."""
    items = []
    for (label, n), colour in zip(entries, CODE_COLOURS):
        items.append(f"<span style='display:inline-block;width:0.9em;height:0.9em;background:{colour};"
                     f"border:1px solid #999;margin-right:0.3em'></span>{html.escape(label)}: <b>{n}</b>")
    return "<div style='columns:2;font-size:90%'>" + "<br>".join(items) + "</div>"


class _Refused:
    """Stands in for a VMReport when KVM refuses the VM before any vCPU exists."""

    def __init__(self, message: str) -> None:
        self.message = message


class Past512Explorer(Explorer):
    """One VM: release, CPU, guest APIC mode, size (count or QEMU topology), policy.

    The grid shows every APIC ID 0..4095 coloured by how an IPI to that vCPU travels; the readout
    says whether the VM starts (and which vCPU fails), whether AVIC is active or which inhibit
    reasons stop it, the max index, the table pages and how many vCPUs are accelerated.
    """

    figsize = (11.5, 4.6)

    def _make_controls(self):
        return {
            "kernel": kernel_dropdown("6.17"),
            "cpu": cpu_dropdown(),
            "guest_apic": guest_dropdown(),
            "avic": avic_dropdown(),
            "kvm_max_vcpus": kvm_max_dropdown(),
            "sizing": W.ToggleButtons(options=[("vCPU count", "count"), ("QEMU topology", "topology")],
                                      value="count", description="size by", style=STYLE),
            "vcpus": slider("vCPUs", 600, 1, 4096),
            "sockets": slider("sockets", 3, 1, 8),
            "dies": slider("dies", 1, 1, 4),
            "modules": slider("modules", 1, 1, 4),
            "cores": slider("cores", 160, 1, 512),
            "threads": slider("threads", 1, 1, 2),
            "policy": _policy(),
        }

    def _layout(self):
        c = self.controls
        rows = [row(c["kernel"], c["cpu"], c["guest_apic"], c["avic"], c["kvm_max_vcpus"], c["policy"],
                    self.reset_button),
                row(c["sizing"], c["vcpus"]),
                row(c["sockets"], c["dies"], c["modules"], c["cores"], c["threads"])]
        return W.VBox(rows + [self.picture, self.error])

    def topology(self) -> Topology:
        p = self.params
        return Topology(sockets=p["sockets"], dies=p["dies"], modules=p["modules"],
                        cores=p["cores"], threads=p["threads"])

    def _simulate(self):
        p = self.params
        kw = dict(kernel=p["kernel"], cpu=p["cpu"], guest_apic=p["guest_apic"], policy=p["policy"],
                  avic=p["avic"], kvm_max_vcpus=kvm_max_vcpus(p["kvm_max_vcpus"], p["kernel"]))
        try:
            if p["sizing"] == "count":
                return simulate(p["vcpus"], **kw)
            return simulate(topology=self.topology(), **kw)
        except ValueError as e:  # KVM refuses the whole VM (beyond its vCPU-ID limit)
            return _Refused(str(e))

    #: The figure's fixed title.  The verdict (size, release, CPU, guest mode, starts or not, AVIC
    #: on or why not: :func:`vm_title`) is the readout's first line: a sentence of 100 glyphs
    #: drawn again on every change cost more than the whole grid.
    grid_title = ("Every APIC ID 0..4095, coloured by how an IPI to that vCPU travels "
                  "(the verdict and the colours' counts are under the picture)")

    def _draw(self):
        self._ax = self.figure.add_subplot()
        self._arts = vm_paths(simulate(1, kernel="6.17"), self._ax, legend=False, title=self.grid_title)
        freeze_layout(self.figure)
        a = self._arts
        # blitted on each change, in this order (the page lines sit on top of the image)
        self.dynamic = [a.image, *a.pages, a.boundary, a.boundary_label]

    def _update(self):
        by_topology = self.params["sizing"] == "topology"
        self.controls["vcpus"].disabled = by_topology
        for k in ("sockets", "dies", "modules", "cores", "threads"):
            self.controls[k].disabled = not by_topology
        r = self._simulate()
        if isinstance(r, _Refused):
            # draw an empty VM (one vCPU, not created) and say why in the readout
            self.model = r
            base = simulate(1, kernel=self.params["kernel"], cpu=self.params["cpu"],
                            guest_apic=self.params["guest_apic"])
            show_codes(self._arts, np.full_like(self._arts.codes, NO_VCPU))
            self._arts.boundary.set_data([], [])
            self._arts.boundary_label.set_text(f"max index 0x{base.max_index:X}")
            self.readout.value = ("<b>KVM refuses this VM. Does not start:</b> " + html.escape(r.message))
            return
        self.model = r
        update_vm_paths(self._arts, r, title=False)
        self.readout.value = self._readout(r)

    def _readout(self, r) -> str:
        p = self.params
        parts = [f"<b>{html.escape(vm_title(r))}</b>"]
        if p["sizing"] == "topology":
            t = self.topology()
            w, off = t.widths(), t.offsets()
            fields = ", ".join(f"{k} {w[k]} bit{'s' if w[k] != 1 else ''} at bit {off[k]}"
                               for k in ("threads", "cores", "modules", "dies", "sockets") if getattr(t, k) > 1)
            parts.append(f"<b>Topology</b> {html.escape(t.describe())}: {fields or 'one vCPU'}; "
                         f"highest APIC ID <b>{r.max_apic_id}</b> for {r.vcpus} vCPUs "
                         f"({r.max_apic_id + 1 - r.vcpus} unused ids below it)")
        if r.starts:
            parts.append("<b>Starts:</b> yes")
        else:
            parts.append(f"<b>Starts:</b> no: {html.escape(r.error or '')} "
                         f"(first failing vCPU: #{r.failing_vcpu})")
        if r.starts:  # the model's wording: names hybrid AVIC, avic=0 and the inhibits
            parts.append("<b>AVIC:</b> " + html.escape(r.avic_status))
        if r.max_index is not None:
            parts.append(f"<b>max index</b> 0x{r.max_index:X} ({r.max_index}); <b>table pages</b> {r.table_pages}; "
                         f"<b>accelerated vCPUs</b> {r.accelerated_vcpus} of {r.vcpus}")
        if r.gatag_aliased_vcpus:
            parts.append(f"<b>GATag:</b> device-interrupt wakeups for {len(r.gatag_aliased_vcpus)} vCPUs "
                         f"reach the wrong vCPU (first: {r.gatag_aliased_vcpus[0]}; see notebook 04)")
        for n in r.notes:
            parts.append("<i>" + html.escape(n) + "</i>")
        return "<br>".join(parts) + legend_html(legend_entries(r))


@lru_cache(maxsize=16)
def _all_sweeps(cpu: str, guest_apic: str, policy: str) -> tuple:
    """:func:`all_sweeps` for one setting, computed once (15 sweeps of 4096 VMs take several
    milliseconds, and a learner goes back and forth between a few settings)."""
    return tuple(all_sweeps(cpu, guest_apic, policy=policy))


class SweepExplorer(Explorer):
    """The no-exit share of IPIs for every vCPU count 1..4096, one panel per release range."""

    figsize = (11.0, 6.4)

    def _make_controls(self):
        return {
            "cpu": cpu_dropdown(),
            "guest_apic": guest_dropdown(),
            "policy": _policy(),
            "highlight": W.Dropdown(options=[("none", "")] + RANGE_OPTIONS, value="6.17",
                                    description="highlight", style=STYLE, layout=W.Layout(width="15em")),
        }

    #: The figure's fixed title; the CPU, guest mode and assumptions (:func:`sweep_title`) are the
    #: readout's first lines (two changing lines of text were the slowest part of a picture).
    chart_title = ("Share of IPIs to a random vCPU that need no VM exit, per release range "
                   "(the settings are under the picture)")

    def _draw(self):
        self._arts = sweep_chart(all_sweeps(), self.figure, summaries=False, title=self.chart_title)
        freeze_layout(self.figure)
        a = self._arts
        # The highlighted panel's title is bold: one bold label over it (with a white box that
        # hides the plain title under it), so the nine titles stay in the kept background.
        t = a.panel_titles[0]
        self.highlight_label = t.axes.text(*t.get_position(), "", transform=t.get_transform(),
                                           ha=t.get_horizontalalignment(), va=t.get_verticalalignment(),
                                           fontproperties=t.get_fontproperties(), color=t.get_color(),
                                           fontweight="bold", visible=False, clip_on=False,
                                           bbox=dict(facecolor="white", edgecolor="none", pad=1.0))
        # the panels' tints first: they lie under the lines
        self.dynamic = [*a.shades, *a.lines, *a.whatifs, self.highlight_label]

    def _update(self):
        p = self.params
        sweeps = list(_all_sweeps(p["cpu"], p["guest_apic"], "kernel"))
        whatifs = (list(_all_sweeps(p["cpu"], p["guest_apic"], "partial-avic"))
                   if p["policy"] == "partial-avic" else None)
        self.model = sweeps
        self.whatifs = whatifs
        update_sweep_chart(self._arts, sweeps, whatifs, p["highlight"] or None, title=False, bold=False)
        self._mark_highlight(p["highlight"] or None)
        rows = []
        for s in sweeps:
            starts = np.flatnonzero(s.starts)
            full = np.flatnonzero(s.starts & (s.accelerated == s.counts))
            rows.append(f"<tr><td>{s.kernel.range_name}</td>"
                        f"<td>{int(s.counts[starts[-1]]) if starts.size else 0}</td>"
                        f"<td>{int(s.counts[full[-1]]) if full.size else 0}</td>"
                        f"<td>{int(s.accelerated.max())}</td></tr>")
        head = ("<tr><th>Linux</th><th>largest VM that starts</th><th>largest VM with every IPI "
                "accelerated</th><th>most accelerated vCPUs</th></tr>")
        what = ("<br><i>Dashed lines: partial AVIC, a what-if from the Feb 2023 LKML thread that no "
                "kernel implements.</i>") if whatifs is not None else ""
        settings = "<br>".join(html.escape(x) for x in sweep_title(sweeps, whatifs).split("\n"))
        self.readout.value = f"<b>{settings}</b><table>{head}{''.join(rows)}</table>{what}"

    def _mark_highlight(self, highlight):
        """Move the bold label over the highlighted panel's title (hidden when none is)."""
        label = self.highlight_label
        names = [s.kernel.range_name for s in self.model]
        name = release(highlight).range_name if highlight else None
        if name not in names:
            label.set_visible(False)
            return
        t = self._arts.panel_titles[names.index(name)]
        label.set_transform(t.get_transform())
        label.set_position(t.get_position())
        label.set_text(t.get_text())
        label.set_visible(True)


class CostExplorer(Explorer):
    """Expected cycles per IPI vs vCPU count on one release, from ASSUMED per-path costs."""

    figsize = (11.0, 4.4)

    def _make_controls(self):
        cost = dict(lo=100, hi=20000, width="28em")
        return {
            "kernel": kernel_dropdown("6.17"),
            "cpu": cpu_dropdown(),
            "avic": avic_dropdown(),
            "vcpus": slider("vCPUs", 600, 1, 4096),
            "accelerated": slider("accelerated IPI (assumed cycles)", ASSUMED_COSTS["accelerated"], **cost),
            "incomplete_ipi": slider("incomplete-IPI exit (assumed cycles)", ASSUMED_COSTS["incomplete_ipi"], **cost),
            "emulated": slider("emulated IPI (assumed cycles)", ASSUMED_COSTS["emulated"], **cost),
        }

    def _layout(self):
        c = self.controls
        rows = [row(c["kernel"], c["cpu"], c["avic"], c["vcpus"], self.reset_button),
                row(c["accelerated"], c["incomplete_ipi"], c["emulated"])]
        return W.VBox(rows + [self.picture, self.error])

    def costs(self) -> dict[str, int]:
        p = self.params
        return {k: p[k] for k in ("accelerated", "incomplete_ipi", "emulated")}

    #: The figure's fixed title; the release, CPU and KVM_MAX_VCPUS (:func:`cost_title`) are the
    #: readout's first line (a changing title as wide as the figure was slow to draw).
    chart_title = f"Expected IPI latency (IPIs to a random vCPU; release and CPU under the picture)\n{COST_SOURCE}"

    def _draw(self):
        self._arts = cost_chart(sweep("6.17"), self.figure.add_subplot(), title=self.chart_title)
        # the layout is made for the widest tick labels the cost sliders allow, so that the
        # axis label stays inside the picture at any setting
        self._arts.line.axes.set_ylim(0, cost_axis_top(max(self.controls[k].max for k in self.costs())))
        freeze_layout(self.figure)
        a = self._arts
        self.dynamic = [a.line, a.whatif, a.marker, a.marker_text, *a.levels.values(),
                        *a.level_texts.values()]
        self._ylim = None

    def _update(self):
        p = self.params
        top = min(4096, release(p["kernel"]).vcpu_id_limit())
        s = sweep(p["kernel"], p["cpu"], max_vcpus=top, avic=p["avic"])
        w = sweep(p["kernel"], p["cpu"], policy="partial-avic", max_vcpus=top, avic=p["avic"])
        self.model = s
        update_cost_chart(self._arts, s, self.costs(), w, p["vcpus"], title=False)
        head = f"<b>{html.escape(cost_title(s))}</b><br>"
        ylim = self._arts.line.axes.get_ylim()
        if ylim != self._ylim:  # new axis limits: the ticks need a full redraw
            self._ylim = ylim
            self.relayout(ylim)
        try:
            r = simulate(p["vcpus"], kernel=p["kernel"], cpu=p["cpu"], avic=p["avic"])
        except ValueError as e:
            self.report = None
            self.readout.value = head + f"<b>{p['vcpus']} vCPUs:</b> KVM refuses the VM: {html.escape(str(e))}"
            return
        self.report = r
        c = report_cost(r, **self.costs())
        counts = {k: v for k, v in r.path_counts().items() if v}
        desc = ", ".join(f"{v} {k}" for k, v in counts.items())
        value = "VM does not start" if np.isnan(c) else f"<b>{c:.0f} cycles per IPI</b> expected"
        self.readout.value = head + (f"<b>{p['vcpus']} vCPUs on {r.kernel.range_name}:</b> {value} "
                              f"(targets: {desc}).<br><i>{html.escape(COST_SOURCE)}.</i>")
