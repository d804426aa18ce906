"""The firmware size check: the report's figures and the build failure on overflow."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

RUNFILES = Path(os.environ.get("TEST_SRCDIR", ".")) / "valvenet"
SIZE_TOOL = RUNFILES / "firmware/toolchain/firmware_size.sh"
ELF = RUNFILES / "firmware/mps2_an500.elf"
LINKER_SCRIPT = RUNFILES / "firmware/boards/mps2_an500/mps2_an500.ld"


def run_size(tmp_path: Path, script: Path) -> tuple[subprocess.CompletedProcess[str], str]:
    report = tmp_path / "size.txt"
    result = subprocess.run([str(SIZE_TOOL), str(ELF), str(report), str(script)], capture_output=True, text=True)
    return result, report.read_text() if report.exists() else ""


def memory_script(tmp_path: Path, *regions: str) -> Path:
    """A linker script with only a MEMORY block, written as the boards' scripts write it."""
    script = tmp_path / "test.ld"
    script.write_text("/* test */\nMEMORY\n{\n" + "".join(f"  {line}\n" for line in regions) + "}\n\nSECTIONS\n{\n}\n")
    return script


def region_rows(report: str) -> dict[str, list[str]]:
    return {line.split()[0]: line.split() for line in report.splitlines()[3:] if line and not line.startswith(("section", "."))}


def test_report_counts_flash_and_ram_like_the_linker(tmp_path: Path) -> None:
    result, report = run_size(tmp_path, LINKER_SCRIPT)
    assert result.returncode == 0, result.stderr
    rows = region_rows(report)
    assert set(rows) == {"FLASH", "RAM"}
    assert int(rows["FLASH"][2]) == int(rows["RAM"][2]) == 4 * 1024 * 1024  # the script's LENGTH = 4M
    flash_used, ram_used = int(rows["FLASH"][1]), int(rows["RAM"][1])
    # Flash holds code plus the load image of .data; RAM holds .data, .bss and the stack.
    assert 1000 < flash_used < 64 * 1024
    assert 16 * 1024 <= ram_used < 64 * 1024
    sections = {line.split()[0]: int(line.split()[1]) for line in report.splitlines() if line.startswith(".")}
    assert flash_used == sections[".isr_vector"] + sections[".text"] + sections.get(".init_array", 0) + sections[".data"] + sections.get(".ARM.exidx", 0)


def test_regions_come_from_the_linker_scripts_memory_block(tmp_path: Path) -> None:
    script = memory_script(tmp_path, "FLASH (rx)  : ORIGIN = 0x00000000, LENGTH = 4M",
                           "ITCM  (rwx) : ORIGIN = 0x10000000, LENGTH = 16K",
                           "RAM   (rwx) : ORIGIN = 0x20000000, LENGTH = 0x400000")
    result, report = run_size(tmp_path, script)
    assert result.returncode == 0, result.stderr
    assert {name: int(row[2]) for name, row in region_rows(report).items()} == {
        "FLASH": 4 * 1024 * 1024, "ITCM": 16 * 1024, "RAM": 0x400000}


def test_overflowing_region_fails_and_names_it(tmp_path: Path) -> None:
    script = memory_script(tmp_path, "FLASH (rx)  : ORIGIN = 0x00000000, LENGTH = 1K",
                           "RAM   (rwx) : ORIGIN = 0x20000000, LENGTH = 4M")
    result, _ = run_size(tmp_path, script)
    assert result.returncode == 1
    assert "region FLASH overflows" in result.stderr


def test_a_script_without_memory_regions_is_an_error(tmp_path: Path) -> None:
    result, _ = run_size(tmp_path, memory_script(tmp_path))
    assert result.returncode == 1
    assert "no MEMORY regions" in result.stderr
