"""The boards a ValveNet firmware image can be built for: linker script (whose MEMORY block is
the board's memory map, for the linker and for the size report's region check) and the board
library."""

BOARDS = {
    # NUCLEO-F767ZI (STM32F767ZI): flash, ITCM, DTCM, SRAM1, SRAM2.
    "nucleo_f767zi": struct(
        linker_script = "//firmware/boards/nucleo_f767zi:nucleo_f767zi.ld",
        library = "//firmware/boards/nucleo_f767zi:board",
    ),
    # QEMU mps2-an500 (Cortex-M7): the image at 0x0, RAM at 0x20000000.
    "mps2_an500": struct(
        linker_script = "//firmware/boards/mps2_an500:mps2_an500.ld",
        library = "//firmware/boards/mps2_an500:board",
    ),
}
