"""docs/instructor.md: every number it states is what the model (and `avicviz demo`) gives, it
answers every closing question of every lesson, and the README and the demos' landing page
point to it."""

import json
import re
from pathlib import Path

import pytest

import avicviz as av
from avicviz import demo

ROOT = Path(__file__).resolve().parent.parent
GUIDE = (ROOT / "docs" / "instructor.md").read_text()
LESSONS = sorted((ROOT / "notebooks").glob("0[0-4]_*.ipynb"))


def _flat(text: str) -> str:
    return " ".join(text.split())


FLAT = _flat(GUIDE)


def _partial_avic_share(vcpus: int) -> float:
    r = av.simulate(vcpus, kernel="6.19", cpu="x2avic", policy="partial-avic")
    return 100 * r.accelerated_vcpus / vcpus


# (text the guide states, the model's value, the value that text claims)
CLAIMS = [
    ("vCPU 300 woken as vCPU 44 on Linux 6.2", av.encode(1, 300, "6.2").decoded_vcpu, 44),
    ("(0x32C.)", av.encode(1, 300, "6.3").tag, 0x32C),
    ("How many vCPUs get someone else's wakeups?\" (144.)", len(av.aliases(400, kernel="6.2").aliased_vcpus), 144),
    ("(1,048,575, against 16,777,215 on 6.2.)", (av.id_space("6.19"), av.id_space("6.2")), (1_048_575, 16_777_215)),
    ("1,048,575 usable IDs (0 is never handed out), about 12 days", round(av.id_space("6.19") / 86400), 12),
    ("6.19's largest VM ID?* 20 bits: 0xFFFFF = 1,048,575", av.release("6.19").max_vm_id, 0xFFFFF),
    ("It starts; 0 are accelerated",
     (av.simulate(600, kernel="6.17").starts, av.simulate(600, kernel="6.17").accelerated_vcpus), (True, 0)),
    ("No: the highest APIC ID is 671", av.Topology(sockets=3, cores=160).max_apic_id, 671),
    ("480 vCPUs reaching APIC ID 671", av.Topology(sockets=3, cores=160).vcpus, 480),
    ("(50%; and say that no kernel does this.)", _partial_avic_share(1024), 50.0),
    ("(vCPU 44: the 8-bit field keeps 300 - 256.)", av.encode(1, 300, "6.2").decoded_vcpu, 300 - 256),
    ("(255: IDs 0..254, the max index is 254 from Linux 6.0; 255 before.)",
     (av.max_index("6.0", cpu="x2avic", guest_apic="xapic"), av.max_index("5.10", cpu="avic", guest_apic="xapic")),
     (254, 255)),
    ("max_vcpu_ids` to 1024 gets max index 1023 (0x3FF) and 2 pages",
     (av.simulate(1024, kernel="6.19", cpu="x2avic-ext", max_vcpu_ids=1024).max_index,
      av.simulate(1024, kernel="6.19", cpu="x2avic-ext", max_vcpu_ids=1024).table_pages), (0x3FF, 2)),
    ("with 600, max index 599 and 2 pages",
     (av.simulate(600, kernel="6.19", cpu="x2avic-ext", max_vcpu_ids=600).max_index,
      av.simulate(600, kernel="6.19", cpu="x2avic-ext", max_vcpu_ids=600).table_pages), (599, 2)),
    ("the highest APIC ID is 611", av.Topology(sockets=5, cores=100, threads=1).max_apic_id, 611),
    ("-smp 500,sockets=5,cores=100,threads=1", av.Topology(sockets=5, cores=100, threads=1).vcpus, 500),
    ("-EINVAL for the first vCPU whose id is above 511 (vcpu_id 512)",
     "vcpu_id 512" in (av.simulate(kernel="6.5", topology="sockets=5,cores=100,threads=1").error or ""), True),
    ("6.3 refuses, 6.17 starts with AVIC off for every vCPU, 6.19 with X2AVIC_EXT accelerates all 600",
     (av.simulate(600, kernel="6.3").starts, av.simulate(600, kernel="6.17").avic_active,
      av.simulate(600, kernel="6.19", cpu="x2avic-ext").accelerated_vcpus), (False, False, 600)),
    ("a wakeup for vCPU 256 + k reaches vCPU k (300 reaches 44, 511 reaches 255)",
     (av.aliases(512, kernel="6.2").wakes(300), av.aliases(512, kernel="6.2").wakes(511)), (44, 255)),
    ("The 256 vCPUs 256..511 lose bit 8",
     (len(av.aliases(512, kernel="6.2").aliased_vcpus), av.aliases(512, kernel="6.2").aliased_vcpus[0]), (256, 256)),
    ("(ASSUMED: 3645 cycles accelerated, 4338 for an exit and for emulation)",
     __import__("avicviz.plots.past512", fromlist=["ASSUMED_COSTS"]).ASSUMED_COSTS,
     {"accelerated": 3645, "incomplete_ipi": 4338, "emulated": 4338}),
    ("all four demos preheat 165 kernels (33 for the landing page and for each demo), estimated at 14850 MB",
     (sum(v["pool_size"] for k, v in demo.pool_config(30).items() if k != "default"),
      demo.pool_config(30)["gatag.ipynb"]["pool_size"], demo.memory_estimate(30)), (165, 33, 14850)),
    ("`--demos gatag` preheats 66 (5940 MB estimated)",
     (sum(v["pool_size"] for k, v in demo.pool_config(30, ["gatag"]).items() if k != "default"),
      demo.memory_estimate(30, ["gatag"])), (66, 5940)),
    ("`--refill-after` seconds (default 120)", demo.DEFAULT_REFILL_AFTER, 120),
    ("20 + 35 + 35 + 35 + 25 minutes read alone (150 minutes)", None, None),
]


@pytest.mark.parametrize("text, model, claimed", CLAIMS, ids=[c[0][:40] for c in CLAIMS])
def test_guide_states_what_the_model_gives(text, model, claimed):
    assert _flat(text) in FLAT, f"the guide no longer says: {text}"
    assert model == claimed


def test_lesson_times_add_up_to_what_the_guide_says():
    minutes = []
    for nb in LESSONS:
        intro = "".join(json.loads(nb.read_text())["cells"][0]["source"])
        minutes.append(int(re.search(r"\*\*Estimated time\.\*\* (\d+) minutes", intro).group(1)))
    assert minutes == [20, 35, 35, 35, 25] and sum(minutes) == 150


def _questions(nb: Path) -> int:
    last = [c for c in json.loads(nb.read_text())["cells"] if c["cell_type"] == "markdown"][-1]
    q = "".join(last["source"]).split("## Questions", 1)[1]
    return len(re.findall(r"^\d+\. ", q, re.M))


@pytest.mark.parametrize("nb", LESSONS, ids=lambda p: p.stem)
def test_every_closing_question_has_an_answer(nb):
    n = _questions(nb)
    assert n >= 4
    number = nb.name[:2]
    section = re.search(rf"^### {number} .*?(?=^### |^## )", GUIDE, re.M | re.S).group(0)
    answers = re.findall(r"^(\d+)\. \*", section, re.M)
    assert answers == [str(i) for i in range(1, n + 1)], f"{nb.name}: {n} questions, answers {answers}"


def test_every_check_is_listed_with_its_misconception():
    for nb in LESSONS:
        checks = [c for c in json.loads(nb.read_text())["cells"]
                  if c["cell_type"] == "code" and "".join(c["source"]).startswith("Check(")]
        for i in range(1, len(checks) + 1):
            assert f"| {nb.name[:2]}-{i} " in GUIDE, f"check {nb.name[:2]}-{i} is missing from the table"


def test_readme_and_landing_page_point_to_the_guide():
    assert "docs/instructor.md" in (ROOT / "README.md").read_text()
    index = json.loads((ROOT / "notebooks" / "demos" / "index.ipynb").read_text())
    assert "docs/instructor.md" in "".join("".join(c["source"]) for c in index["cells"])
