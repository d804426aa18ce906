"""The firmware size check: the report's figures and the build failure on overflow."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

RUNFILES = Path(os.environ.get("TEST_SRCDIR", ".")) / "valvenet"
SIZE_TOOL = RUNFILES / "firmware/toolchain/firmware_size.sh"
ELF = RUNFILES / "firmware/mps2_an500.elf"


def run_size(tmp_path: Path, *regions: str) -> tuple[subprocess.CompletedProcess[str], str]:
    report = tmp_path / "size.txt"
    result = subprocess.run([str(SIZE_TOOL), str(ELF), str(report), *regions], capture_output=True, text=True)
    return result, report.read_text()


def test_report_counts_flash_and_ram_like_the_linker(tmp_path: Path) -> None:
    result, report = run_size(tmp_path, "FLASH:0x00000000:0x400000", "RAM:0x20000000:0x400000")
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line.split() for line in report.splitlines() if line.startswith(("FLASH", "RAM"))}
    flash_used, ram_used = int(rows["FLASH"][1]), int(rows["RAM"][1])
    # Flash holds code plus the load image of .data; RAM holds .data, .bss and the stack.
    assert 1000 < flash_used < 64 * 1024
    assert 16 * 1024 <= ram_used < 64 * 1024
    sections = {line.split()[0]: int(line.split()[1]) for line in report.splitlines() if line.startswith(".")}
    assert flash_used == sections[".isr_vector"] + sections[".text"] + sections.get(".init_array", 0) + sections[".data"] + sections.get(".ARM.exidx", 0)


def test_overflowing_region_fails_and_names_it(tmp_path: Path) -> None:
    result, _ = run_size(tmp_path, "FLASH:0x00000000:0x400", "RAM:0x20000000:0x400000")
    assert result.returncode == 1
    assert "region FLASH overflows" in result.stderr
