"""docs/benchmarks.md's verdicts (valvenet.bench_report) on made-up rows: targets met or
missed by the worst block, the ITCM condition, the cycle model against DWT (or "none yet"),
and the images' memory read from a size report."""

from __future__ import annotations

from pathlib import Path

from valvenet import bench, bench_report


def row(model: str, precision: str, worst: float, cycles: float, hot: int) -> dict:
    return {"model": model + ("+int16" if precision == "int16" else ""), "precision": precision,
            "parameters": 835, "macs_per_sample": 729, "per_sample_by_block": {"48": worst - 10},
            "per_sample": worst - 10, "per_sample_block48": worst - 10, "worst_block48": worst,
            "code_bytes": 1000, "const_bytes": 0, "ram_bytes": 64, "hot_code_bytes": hot,
            "itcm_fit": hot <= bench.ITCM_BYTES, "est_cycles_median": cycles - 5, "est_cycles_worst": cycles,
            "cycles_per_instruction": cycles / worst, "est_stalls_per_sample": {"FP latency": 12.0},
            "cycle_share": {k: cycles / v for k, v in bench.BUDGETS.items()}}


def target_line(page: str, model: str, precision: str) -> str:
    return next(line for line in page.splitlines() if line.startswith(f"| {model} | {precision} | <="))


def test_targets_are_judged_on_the_worst_block_and_feather_needs_itcm() -> None:
    rows = [row("nam-nano", "int16", 1400, 1500, 9000), row("nam-feather", "int16", 3300, 2900, 20000),
            row("lstm-12", "int16", 1870, 1800, 1000)]
    page = bench_report.page(rows)
    assert target_line(page, "nam-nano", "int16").endswith("| met |")
    assert "hot code does not fit ITCM" in target_line(page, "nam-feather", "int16")
    assert target_line(page, "lstm-12", "int16").endswith("| missed by 10 % |")
    assert "Stretch: nam-feather int16 <= 3,000 estimated cycles per sample (worst block of 48): 2,900, met." in page


def test_instructions_understating_cycles_are_marked() -> None:
    page = bench_report.page([row("lstm-12", "float32", 2227, 4573, 1000), row("nam-nano", "int16", 2332, 1560, 9000)])
    assert "| lstm-12 | float32 | **2.05** (understates) |" in page
    assert "| nam-nano+int16 | int16 | 0.67 |" in page


def test_without_board_figures_the_page_says_so_and_with_them_gives_the_error() -> None:
    rows = [row("nam-nano", "int16", 2332, 1560, 9000)]
    assert "None yet: no NUCLEO-F767ZI has run the hardware timing job" in bench_report.page(rows)
    dwt = [{"model": "nam-nano+int16", "unit": "cycles", "max_per_sample": 1300.0}]
    assert "| nam-nano+int16 | 1,300 | 1,560 | +20 % |" in bench_report.page(rows, dwt)


def test_an_images_memory_comes_from_its_size_report(tmp_path: Path) -> None:
    report = tmp_path / "amp_nucleo_f767zi.size.txt"
    report.write_text("amp_nucleo_f767zi.elf\n\nregion         used       size    use%\n"
                      "FLASH        120136    2097152    5.7%\nITCM           9300      16384   56.8%\n\n"
                      "section                size        vma        lma\n.text  92968 0x08000200 0x08000200\n")
    image = bench.image_memory(report)
    assert image == {"image": "amp_nucleo_f767zi", "regions": {"FLASH": (120136, 2097152), "ITCM": (9300, 16384)}}
    assert "| amp_nucleo_f767zi | 120,136 / 2,097,152 (6 %) | 9,300 / 16,384 (57 %) |" in \
        bench_report.page([row("nam-nano", "int16", 2332, 1560, 9000)], images=[image])
