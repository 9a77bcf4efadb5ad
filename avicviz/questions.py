"""The lessons' predict-then-check questions, kept out of the notebooks.

A notebook cell names a question by id, ``check("gatag-300")``, so no cell's source shows the
answer, the feedback or the worked solution: the learner sees them only after trying
(:class:`avicviz.widgets.Check` shows the feedback to an answer, and the solution after the first
attempt).  Instructors edit the questions here; ``tests/test_questions.py`` checks every answer
against the model, so a question cannot teach a wrong number.

Numeric answers are ints (the learner types decimal, ``4,096`` or ``0x1000``); choice questions
list their ``options`` and the answer is one of them.  ``feedback`` maps a likely wrong answer to
the misconception behind it.  Pure data: no ipywidgets, no matplotlib.

>>> question("gatag-300").lesson
'02'
>>> question("nope")
Traceback (most recent call last):
...
ValueError: question id 'nope' is not known: valid ids accelerated-600-617, aliased-400, ...
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

__all__ = ["Question", "QUESTIONS", "question", "questions"]


@dataclass(frozen=True)
class Question:
    """One predict-then-check question of a lesson (``lesson`` is the notebook number)."""

    id: str
    lesson: str
    question: str
    answer: Any
    solution: str
    options: tuple[str, ...] | None = None
    feedback: Mapping[Any, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.options is not None and self.answer not in self.options:
            raise ValueError(f"question {self.id!r}: answer={self.answer!r} is not one of the "
                             f"options {list(self.options)}")
        if self.options is None and (isinstance(self.answer, bool) or not isinstance(self.answer, int)):
            raise ValueError(f"question {self.id!r}: a question without options needs an int answer, "
                             f"not {self.answer!r}")
        object.__setattr__(self, "feedback", MappingProxyType(dict(self.feedback)))


_ALL = (
    Question(
        id='ipi-running-exits',
        lesson='00',
        question='A vCPU sends an IPI to a target whose physical-table entry has Valid = 1 and '
                 'IsRunning = 1. How many VM exits does the delivery cause, counting both sender '
                 'and target?',
        answer=0,
        feedback={
            1:
                'The sender does not exit: the processor reads the table entry, sets the IRR bit '
                'in the backing page and rings the doorbell itself. A sender exit happens only '
                'when the target is not running or the target is invalid.',
            2:
                "Neither side exits. The target's host CPU gets a doorbell and takes the "
                'interrupt from the backing page while the guest keeps running.',
        },
        solution="0. With IsRunning = 1 the processor sets the IRR bit in the target's backing "
                 "page and writes the target's host APIC ID to the doorbell; the target's CPU "
                 'evaluates the new interrupt without leaving the guest.',
    ),
    Question(
        id='backing-page-pointer',
        lesson='00',
        question="Which piece tells the processor where the target vCPU's backing page is?",
        answer='the physical APIC ID table',
        options=(
            'the logical APIC ID table',
            'the physical APIC ID table',
            'the doorbell MSR',
            'the GA log',
        ),
        feedback={
            'the logical APIC ID table':
                'The logical table (xAVIC only) maps a logical ID to a guest physical APIC ID; '
                "the backing page address is in the physical table's entry.",
            'the doorbell MSR':
                'The doorbell only names a host CPU to notify; it carries no address.',
            'the GA log':
                'The GA log carries GATags from the IOMMU to KVM, not addresses.',
        },
        solution='The physical APIC ID table: bits 51:12 of each 64-bit entry hold the backing '
                 "page's host physical address.",
    ),
    Question(
        id='max-index-600-vmrun',
        lesson='01',
        question='A hypervisor programs a max index of 600 for an x2APIC guest on a CPU with '
                 'x2AVIC but without X2AVIC_EXT. What happens on VMRUN?',
        answer='VMRUN fails with VMEXIT_INVALID',
        options=(
            'the guest runs; vCPUs up to 600 are accelerated',
            'the guest runs; IPIs above 511 exit with INVALID_TARGET',
            'VMRUN fails with VMEXIT_INVALID',
        ),
        feedback={
            'the guest runs; vCPUs up to 600 are accelerated':
                'The table has only 512 entries on such a CPU; the hardware refuses a max index '
                'above 511.',
            'the guest runs; IPIs above 511 exit with INVALID_TARGET':
                'That is what happens to IPIs beyond a *valid* max index. A max index above the '
                'hardware limit is checked before the guest even starts.',
        },
        solution='VMRUN checks the max index first: above 511 in x2AVIC mode (4095 with '
                 'X2AVIC_EXT) it fails with VMEXIT_INVALID and the guest never runs.',
    ),
    Question(
        id='entry-value',
        lesson='01',
        question='An entry has host APIC ID 5, backing page 0x2000, IsRunning = 0 and Valid = 1. '
                 'What is its 64-bit value? (hex)',
        answer=0x8000000000002005,
        feedback={
            0xC000000000002005:
                'That has bit 62 set too: IsRunning is 0 here.',
            0x8000000002000005:
                'You shifted the address left by 12. It is stored in place: bits 51:12 of the '
                'entry are bits 51:12 of the (page-aligned) address.',
            0x4000000000002005:
                'Bit 62 is IsRunning, bit 63 is Valid: you swapped them.',
            0x2005:
                'You left out the Valid bit (bit 63).',
        },
        solution='Valid is bit 63 (0x8000000000000000), the address 0x2000 is stored in place, '
                 'and the host APIC ID 5 is in bits 11:0: 0x8000000000002005.',
    ),
    Question(
        id='x2avic-ext-entries',
        lesson='01',
        question='How many entries does the physical APIC ID table of an x2APIC guest on Linux '
                 '6.19 have, on a CPU with X2AVIC_EXT (default max_vcpu_ids)?',
        answer=4096,
        feedback={
            512:
                '512 is one page, the size on every CPU before 6.19 (and on 6.19 without '
                'X2AVIC_EXT).',
            4095:
                '4095 is the max index, the largest index. Indexes start at 0, so there is one '
                'more entry.',
            8:
                '8 is the number of 4 KiB pages; each holds 512 entries.',
        },
        solution='8 pages x 512 entries = 4096 entries (indexes 0..4095), 32 KiB.',
    ),
    Question(
        id='gatag-300',
        lesson='02',
        question='On Linux 6.3, what is the GATag of VM ID 1, vCPU 300? (hex)',
        answer=0x32C,
        feedback={
            0x12C:
                'You left out the VM ID: it sits above the vCPU field.',
            0x22C:
                'You shifted the VM ID by 8 but kept all 9 vCPU bits, so the fields overlap. From'
                ' 6.3 the VM ID starts at bit 9.',
            0x112C:
                'You shifted by 12: that is the 6.19 layout (12/20).',
            0x12C00:
                'The vCPU goes in the low bits and the VM ID above it, not the other way round.',
        },
        solution='From 6.3 the vCPU field has 9 bits: (1 << 9) | 300 = 0x200 + 0x12C = 0x32C.',
    ),
    Question(
        id='aliased-400',
        lesson='02',
        question='On Linux 6.2 a VM has 400 vCPUs (ids 0..399). For how many of them does a '
                 'GA-log wakeup reach the wrong vCPU?',
        answer=144,
        feedback={
            256:
                '256 is how many vCPUs the 8-bit field tells apart; the question is how many are '
                'left over.',
            145:
                'Off by one: ids 256..399 are 399 - 256 + 1 vCPUs.',
            0:
                'That is true from Linux 6.3, whose 9-bit field covers ids up to 511.',
            400:
                'vCPUs 0..255 fit the 8-bit field and decode correctly.',
        },
        solution='ids 256..399 lose bit 8: 400 - 256 = 144 vCPUs alias with vCPUs 0..143.',
    ),
    Question(
        id='vmid-after-wrap',
        lesson='02',
        question='Linux 6.19: the counter has just handed out 1048575 (0xFFFFF), and VMs with IDs'
                 ' 1 and 2 are still alive. Which ID does the next VM get?',
        answer=3,
        feedback={
            0:
                'Zero is never handed out: reaching it sets the wrapped flag and the counter '
                'moves on.',
            1:
                '1 is still in use, and once the counter has wrapped KVM skips IDs of live VMs.',
            1048576:
                'The VM-ID field has 20 bits on 6.19: 1048576 does not fit, the counter wraps to '
                '0.',
            2:
                '2 is still in use as well.',
        },
        solution='(0xFFFFF + 1) & 0xFFFFF = 0: skipped, wrapped flag set. 1 and 2 are live: '
                 'skipped. The next VM gets 3.',
    ),
    Question(
        id='accelerated-600-617',
        lesson='03',
        question='Linux 6.17, a CPU with x2AVIC but no X2AVIC_EXT, 600 vCPUs. For how many of the'
                 ' 600 vCPUs are IPIs delivered without any VM exit?',
        answer=0,
        feedback={
            512:
                "512 is what a 'keep AVIC for ids that fit' rule would give. Linux 6.17 does not "
                'do that: one id too big inhibits AVIC for the whole VM.',
            600:
                'All 600 need a table with room for id 599: only Linux 6.19 on an X2AVIC_EXT CPU '
                'has it.',
            88:
                '88 vCPUs (ids 512..599) do not fit, but the inhibit does not stop at them.',
        },
        solution='APICV_INHIBIT_REASON_PHYSICAL_ID_TOO_BIG is a per-VM inhibit: AVIC is off for '
                 "every vCPU, so every IPI goes through KVM's emulated APIC. 0 vCPUs are "
                 'accelerated.',
    ),
    Question(
        id='topology-300',
        lesson='03',
        question='QEMU -smp 300,sockets=3,cores=100,threads=1: what is the highest APIC ID?',
        answer=355,
        feedback={
            299:
                'That is dense numbering (0..299). QEMU pads the core field to a power of two.',
            383:
                "That is the top of socket 2's padded range (2*128 + 127); the last real core is "
                'number 99.',
            399:
                'The core field is 7 bits (128 slots), not 100 wide: socket 2 starts at 256.',
            611:
                '100 cores need 7 bits, not 8: socket 2 starts at 2 * 128 = 256.',
        },
        solution='100 cores need ceil(log2 100) = 7 bits, so sockets start at 0, 128 and 256. The'
                 ' last vCPU is socket 2, core 99: 256 + 99 = 355.',
    ),
    Question(
        id='partial-avic-1024',
        lesson='03',
        question='Under the partial-AVIC what-if (not in any kernel), what percentage of IPIs to '
                 'a random vCPU of a 1024-vCPU VM need no VM exit?',
        answer=50,
        feedback={
            100:
                'Only ids 0..511 have table entries; IPIs to the other 512 vCPUs exit.',
            0:
                '0 is what Linux 6.17 really gives (the whole VM is inhibited). The what-if keeps'
                ' AVIC for ids that fit.',
            512:
                '512 is the number of accelerated vCPUs; the question asks for a percentage of '
                '1024.',
        },
        solution='512 of 1024 targets are in the table: 512 / 1024 = 50%.',
    ),
    Question(
        id='galogintr-0',
        lesson='04',
        question='A device interrupt arrives for a vCPU that is not running, and its IRTE has '
                 'GALogIntr = 0. What happens?',
        answer="the IRR bit is set and seen at the vCPU's next VMRUN",
        options=(
            'the doorbell rings',
            'a GA log entry is written and KVM wakes the vCPU',
            "the IRR bit is set and seen at the vCPU's next VMRUN",
            'the interrupt is lost',
        ),
        feedback={
            'the doorbell rings':
                'The doorbell needs IsRun = 1: there is no running vCPU to ring.',
            'a GA log entry is written and KVM wakes the vCPU':
                'A GA log entry needs GALogIntr = 1.',
            'the interrupt is lost':
                'Not lost: the IOMMU has already set the IRR bit in the backing page.',
        },
        solution='GuestMode=1 always sets the IRR bit first. With IsRun=0 and GALogIntr=0 nothing'
                 ' else happens; the vCPU notices the pending bit when KVM next runs it (a '
                 'preempted vCPU, for example).',
    ),
    Question(
        id='wake-400-62',
        lesson='04',
        question='Linux 6.2, VM ID 1, a 401-vCPU VM. A device interrupt for the halted vCPU 400 '
                 'is logged to the GA log. Which vCPU does KVM wake?',
        answer=144,
        feedback={
            400:
                'That is what Linux 6.3 and later do. On 6.2 the tag keeps only 8 bits of the '
                'vCPU id.',
            256:
                '256 is the value of the lost bit, not what is left: 400 - 256 = ?',
            44:
                "44 is where vCPU 300's wakeups went. Redo the arithmetic for 400 = 0b1_1001_0000.",
            145:
                'Off by one: the low 8 bits of 0b1_1001_0000 are 0b1001_0000.',
        },
        solution="400 = 0x190. The 8-bit field keeps 0x90 = 144, and KVM's lookup by id finds "
                 'vCPU 144.',
    ),
    Question(
        id='avic-default-zen3-618',
        lesson='05',
        question="A Zen 3 host (AVIC, no x2AVIC) runs Linux 6.18 and nobody set kvm_amd's avic "
                 'parameter. Is AVIC on for new VMs?',
        answer='no: 6.18 turns it on by default only for CPUs with x2AVIC',
        options=('yes: 6.18 turns AVIC on by default',
                 'no: 6.18 turns it on by default only for CPUs with x2AVIC',
                 'only for VMs with fewer than 256 vCPUs'),
        feedback={
            'yes: 6.18 turns AVIC on by default':
                'The 6.18 default depends on the CPU: look for x2avic in /proc/cpuinfo.',
            'only for VMs with fewer than 256 vCPUs':
                'The parameter is module-wide; VM size matters only once AVIC is on.',
        },
        solution="Linux 6.18's automatic default is on for x2AVIC CPUs (Zen 4 and later) and off "
                 'otherwise; a Zen 3 host needs kvm_amd avic=1.',
    ),
    Question(
        id='sample-trace-quiet-ipis',
        lesson='05',
        question='Between 6.0 s and 6.5 s the sample has no incomplete-IPI exits. What happened to '
                 'the IPIs the guest sent then?',
        answer='AVIC was inhibited, so KVM emulated them; emulated IPIs are not AVIC events',
        options=('they were all accelerated',
                 'AVIC was inhibited, so KVM emulated them; emulated IPIs are not AVIC events',
                 'they were lost', 'the guest sent none'),
        feedback={
            'they were all accelerated':
                'Halted vCPUs do not stop being halted: some IPIs must have exited. Look at the '
                'inhibit timeline below.',
            'they were lost':
                'KVM never drops an IPI it intercepts: an emulated IPI is delivered by KVM\'s APIC '
                'code.',
            'the guest sent none': 'The guest does not know about AVIC; it keeps sending IPIs.',
        },
        solution='APICV_INHIBIT_REASON_IRQWIN was set at 6.0 s and cleared at 6.5 s. While an '
                 'inhibit is set the whole VM runs with the emulated APIC: every IPI exits as an '
                 'ordinary ICR write, which the AVIC tracepoints do not show.',
    ),)

#: Every question by id, in lesson order.
QUESTIONS: Mapping[str, Question] = MappingProxyType({q.id: q for q in _ALL})
if len(QUESTIONS) != len(_ALL):  # pragma: no cover - caught by the tests at once
    raise ValueError("two questions share an id")


def question(qid: str) -> Question:
    """The question with id ``qid``; a clear error naming the valid ids otherwise."""
    try:
        return QUESTIONS[qid]
    except (KeyError, TypeError):
        raise ValueError(f"question id {qid!r} is not known: valid ids "
                         + ", ".join(sorted(QUESTIONS))) from None


def questions(lesson: str | None = None) -> list[Question]:
    """All questions, or those of one lesson ("00" .. "04"), in lesson order."""
    return [q for q in QUESTIONS.values() if lesson is None or q.lesson == lesson]
