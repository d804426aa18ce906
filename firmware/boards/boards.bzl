"""The boards a ValveNet firmware image can be built for: linker script, memory map (for
the size report's region check) and the board library."""

BOARDS = {
    # NUCLEO-F767ZI (STM32F767ZI): 2 MB flash, 16 KB ITCM, 128 KB DTCM, 368 KB SRAM1, 16 KB SRAM2.
    "nucleo_f767zi": struct(
        linker_script = "//firmware/boards/nucleo_f767zi:nucleo_f767zi.ld",
        memory_regions = [
            "FLASH:0x08000000:0x200000",
            "ITCM:0x00000000:0x4000",
            "DTCM:0x20000000:0x20000",
            "SRAM1:0x20020000:0x5C000",
            "SRAM2:0x2007C000:0x4000",
        ],
        library = "//firmware/boards/nucleo_f767zi:board",
    ),
    # QEMU mps2-an500 (Cortex-M7): 4 MB for the image at 0x0, 4 MB RAM at 0x20000000.
    "mps2_an500": struct(
        linker_script = "//firmware/boards/mps2_an500:mps2_an500.ld",
        memory_regions = [
            "FLASH:0x00000000:0x400000",
            "RAM:0x20000000:0x400000",
        ],
        library = "//firmware/boards/mps2_an500:board",
    ),
}
