"""`avicviz trace` on fixture traces (tests/fixtures/traces): every format, release variants, damage."""

import json
import re
from pathlib import Path

import pytest

from avicviz.plots._style import new_figure

from avicviz.cli import main  # noqa: E402
from avicviz.plots import trace as ptrace  # noqa: E402
from avicviz.trace import inhibit_reason_names, ipi_cause_name, summarize, summarize_file  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TRACES = Path(__file__).resolve().parent / "fixtures" / "traces"
SAMPLE = ROOT / "data" / "sample_avic_trace.txt"
SAME_NINE = ["tracefs-6.x.txt", "trace-cmd-report-6.x.txt", "perf-script-6.x.txt"]


@pytest.mark.parametrize("name,fmt", list(zip(SAME_NINE, ["tracefs trace", "trace-cmd report", "perf script"])))
def test_each_format_reads_the_same_nine_events(name, fmt):
    s = summarize_file(TRACES / name, kernel="6.17")
    assert s.format == fmt
    assert (s.event_lines, s.malformed_lines) == (9, 0)
    assert dict(s.ipi_causes) == {1: 2}
    assert dict(s.ipi_by_vcpu) == {(1, 1): 1, (2, 1): 1}
    assert dict(s.ipi_index) == {3: 2}
    assert dict(s.unaccelerated) == {(0x380, "APIC_TMICT", "trap", "write"): 1,
                                     (0x390, "APIC_TMCCT", "fault", "read"): 1}
    assert dict(s.ga_log) == {(1, 3): 1}
    assert dict(s.kicks) == {3: 1}
    assert dict(s.doorbells) == {(3, 14): 1}
    assert [(c.set, c.reason, c.name, c.inhibits) for c in s.inhibit_changes] == [
        (True, 2, "APICV_INHIBIT_REASON_ABSENT", 4), (False, 2, "APICV_INHIBIT_REASON_ABSENT", 0)]
    assert s.first_time == 5120.000101 and s.last_time == 5121.400909


def test_text_report_names_causes_and_registers(capsys):
    assert main(["trace", str(TRACES / "perf-script-6.x.txt"), "--kernel", "6.17"]) == 0
    out = capsys.readouterr().out
    assert "id=1 AVIC_IPI_FAILURE_TARGET_NOT_RUNNING" in out
    assert "APIC_TMICT (0x380) trap write" in out and "APIC_TMCCT (0x390) fault read" in out
    assert "vcpuid holds the vcpu_idx on v6.17" in out
    assert "still set at the end: none (AVIC active)" in out


def test_ipi_cause_names_per_release():
    assert ipi_cause_name(0) == "AVIC_IPI_FAILURE_INVALID_INT_TYPE"
    assert ipi_cause_name(2, "6.2") == "AVIC_IPI_FAILURE_INVALID_TARGET"
    assert ipi_cause_name(3) == "AVIC_IPI_FAILURE_INVALID_BACKING_PAGE"
    assert ipi_cause_name(4, "6.6") == "AVIC_IPI_FAILURE_INVALID_IPI_VECTOR"
    assert ipi_cause_name(4, "6.5").startswith("unknown cause 4")
    assert ipi_cause_name(7).startswith("unknown cause 7")


def test_invalid_target_action_changes_in_6_3():
    rows62 = summarize_file(TRACES / "tracefs-5.10.txt", kernel="6.2").ipi_cause_rows()
    rows63 = summarize_file(TRACES / "tracefs-5.10.txt", kernel="6.3").ipi_cause_rows()
    assert rows62[0]["cause"] == rows63[0]["cause"] == "AVIC_IPI_FAILURE_INVALID_TARGET"
    assert "does not deliver" in rows62[0]["kvm_action"] and "emulates" in rows63[0]["kvm_action"]


@pytest.mark.parametrize("kernel,bit,name", [
    ("5.10", 5, "APICV_INHIBIT_REASON_X2APIC"), ("5.10", 2, "APICV_INHIBIT_REASON_NESTED"),
    ("6.3", 4, "APICV_INHIBIT_REASON_PHYSICAL_ID_ALIASED"), ("6.3", 11, "APICV_INHIBIT_REASON_LOGICAL_ID_ALIASED"),
    ("6.16", 10, "APICV_INHIBIT_REASON_SEV"), ("6.17", 12, "APICV_INHIBIT_REASON_PHYSICAL_ID_TOO_BIG")])
def test_inhibit_names_per_release(kernel, bit, name):
    assert inhibit_reason_names(kernel)[0][bit] == name


def test_no_physical_id_too_big_before_6_17():
    assert 12 not in inhibit_reason_names("6.16")[0]
    assert inhibit_reason_names("5.4")[0] == {}


def test_old_update_request_tracepoint_on_5_10():
    s = summarize_file(TRACES / "tracefs-5.10.txt", kernel="5.10")
    assert [(c.set, c.name, c.inhibits) for c in s.inhibit_changes] == [
        (True, "APICV_INHIBIT_REASON_X2APIC", None), (False, "APICV_INHIBIT_REASON_X2APIC", None)]
    assert s.warnings == ()
    newest = summarize_file(TRACES / "tracefs-5.10.txt")
    assert any("kvm_apicv_update_request" in w for w in newest.warnings)


def test_names_printed_by_the_trace_are_used():
    s = summarize_file(TRACES / "trace-cmd-report-6.17-names.txt", kernel="6.17")
    assert [c.name for c in s.inhibit_changes] == ["APICV_INHIBIT_REASON_PHYSICAL_ID_TOO_BIG",
                                                   "APICV_INHIBIT_REASON_IRQWIN", "APICV_INHIBIT_REASON_IRQWIN"]
    assert s.inhibits_at_end() == ("APICV_INHIBIT_REASON_PHYSICAL_ID_TOO_BIG",)


def test_pre_5_4_trailing_newline_gives_blank_lines_that_are_skipped():
    s = summarize_file(TRACES / "tracefs-4.19-trailing-newline.txt", kernel="4.19")
    assert (s.event_lines, s.blank_lines, s.malformed_lines, s.other_lines) == (2, 2, 0, 0)
    assert dict(s.ipi_causes) == {0: 1}
    assert dict(s.unaccelerated) == {(0xB0, "APIC_EOI", "trap", "write"): 1}


def test_truncated_and_garbage_lines_are_counted_not_fatal(capsys):
    s = summarize_file(TRACES / "trace-cmd-report-garbage.txt", kernel="6.17")
    assert s.event_lines == 8  # the nine good events minus the doorbell cut off at the end
    assert s.malformed_lines == 3  # a cut incomplete_ipi, a cut event name, a non-number vcpuid
    assert [n for n, _ in s.malformed_examples] == [5, 9]
    assert s.other_lines == 5  # cpus=, binary junk, prose, kvm_exit, the cut last line
    assert main(["trace", str(TRACES / "trace-cmd-report-garbage.txt")]) == 0
    assert "malformed line 5:" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["no-avic-events.txt", "empty.txt"])
def test_file_without_avic_events_says_so(capsys, name):
    assert main(["trace", str(TRACES / name)]) == 0
    assert "no KVM AVIC events in this file" in capsys.readouterr().out


def test_missing_file_exit_2_one_line(capsys, tmp_path):
    assert main(["trace", str(tmp_path / "nope.txt")]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "does not exist" in err
    assert main(["trace", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err


def test_bad_kernel_exit_2(capsys):
    assert main(["trace", str(SAMPLE), "--kernel", "2.6"]) == 2
    assert "older than AVIC support" in capsys.readouterr().err


def test_chunking_does_not_change_the_answer():
    text = SAMPLE.read_text()
    whole = summarize([text], kernel="6.17")
    for size in (7, 1000, 65536):
        parts = [text[i:i + size] for i in range(0, len(text), size)]
        s = summarize(parts, kernel="6.17")
        assert s.as_dict() | {"source": None} == whole.as_dict() | {"source": None}
        assert dict(s.ipi_per_second) == dict(whole.ipi_per_second)


def test_sample_counts_match_a_line_by_line_reading():
    # an independent reading: one regex per line, no spans, no counters
    per_sec, causes, first = {}, {}, None
    for line in SAMPLE.read_text().splitlines():
        m = re.search(r"(\d+)\.\d+: kvm_avic_incomplete_ipi: vcpu=\d+, icrh:icrl=\S+, id=(\d+), index=\d+$", line)
        if m is None:
            continue
        first = int(m.group(1)) if first is None else first
        k = (int(m.group(1)) - first, int(m.group(2)))
        per_sec[k] = per_sec.get(k, 0) + 1
        causes[int(m.group(2))] = causes.get(int(m.group(2)), 0) + 1
    s = summarize_file(SAMPLE, kernel="6.17")
    assert dict(s.ipi_causes) == causes and dict(s.ipi_per_second) == per_sec


def test_sample_says_it_is_generated():
    first = SAMPLE.read_text().splitlines()[0]
    assert first.startswith("# GENERATED by scripts/make_sample_trace.py")
    assert "NOT a recording" in first


def test_json_output(capsys):
    assert main(["trace", str(TRACES / "trace-cmd-report-6.x.txt"), "--json", "--kernel", "6.17"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["kernel"] == "v6.17" and d["events"]["kvm_avic_incomplete_ipi"] == 2
    assert d["incomplete_ipi"][0]["cause"] == "AVIC_IPI_FAILURE_TARGET_NOT_RUNNING"
    assert d["inhibits_at_end"] == [] and d["ga_log_vcpu_field"] == "vcpu_idx"


def test_plots_draw_the_summary():
    s = summarize_file(SAMPLE, kernel="6.17")
    fig = new_figure()  # not pyplot: its backend depends on what ran before
    a1, a2, a3 = fig.subplots(3, 1)
    bars = ptrace.ipi_rate(s, a1)
    assert sum(p.get_height() for c in bars for p in c.patches) == sum(s.ipi_causes.values())
    assert a1.get_ylabel() == "AVIC_INCOMPLETE_IPI exits per second"
    vb = ptrace.vcpu_picture(s, a2)
    assert [p.get_height() for p in vb[1].patches] == [r["unaccelerated_access"] for r in s.vcpu_rows()]
    ptrace.inhibit_timeline(s, a3)
    labels = [t.get_text() for t in a3.get_yticklabels()]
    assert labels == ["ABSENT (bit 2)", "IRQWIN (bit 8)"]
    irqwin = a3.collections[1].get_paths()[0].vertices[:, 0]
    assert irqwin.min() == pytest.approx(6.00099) and irqwin.max() == pytest.approx(6.50099)


def test_per_second_counts_across_blocks_and_damage_match_a_line_by_line_reading():
    src = [l for l in SAMPLE.read_text().splitlines(keepends=True)[2:]]
    lines = []
    for rep in range(3):  # 30 seconds of trace, several 64 KiB blocks
        for l in src:
            m = re.search(r"(\d+\.\d+): ", l)
            lines.append(l.replace(m.group(1), f"{float(m.group(1)) + 10 * rep:.6f}", 1))
    lines.insert(1500, "       CPU 1/KVM-7001   [002]  4201.000000: kvm_avic_ga_log: vmid=1, vcpuid=\n")
    text = "".join(lines)
    ref, first = {}, None
    for line in text.splitlines():
        m = re.search(r"(\d+)\.\d+: (kvm_avic_\w+|kvm_apicv_\w+): (.*)$", line)
        if m is None or m.group(3).endswith("vcpuid="):
            continue
        first = int(m.group(1)) if first is None else first
        k = (int(m.group(1)) - first, m.group(2))
        ref[k] = ref.get(k, 0) + 1
    s = summarize([text[i:i + 65536] for i in range(0, len(text), 65536)], kernel="6.17")
    assert dict(s.exits_per_second) == ref
    assert s.malformed_lines == 1 and s.malformed_examples[0][0] == 1501
