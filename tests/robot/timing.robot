*** Settings ***
Documentation     BENCH of every model of the image on ${TARGET}: instructions per sample in an
...               emulator (reported only), DWT cycles on a NUCLEO-F767ZI, where real time is
...               asserted for the models meant to run in real time (${REALTIME}) with
...               ${MARGIN} of the 48 kHz budget left for the audio driver and the cabinet;
...               the others are reported. Writes timing.json and timing.md (Bazel: test.outputs).
Library           ValveNetTarget.py
Suite Setup       Start Target    ${TARGET}    ${FIRMWARE}
Suite Teardown    Stop Target

*** Variables ***
${TARGET}         qemu
${FIRMWARE}       ${EMPTY}
${MODEL_COUNT}    1
${BLOCK}          48
${BLOCKS}         16
# Share of the 48 kHz budget the model may use on a board: the rest is for the DMA audio
# path and the cabinet FIR.
${MARGIN}         0.25
# Model names (comma-separated) that must run in real time on the board.
${REALTIME}       ${EMPTY}

*** Test Cases ***
Bench Every Model
    Wait For Self Tests    ${MODEL_COUNT}
    FOR    ${index}    IN RANGE    ${MODEL_COUNT}
        Select Model    ${index}
        ${record}=    Bench Selected Model    ${BLOCK}    ${BLOCKS}
        Should Be True    ${record}[median_per_sample] > 0 or '${record}[unit]' == 'none'
        ${must}=    Evaluate    $record['model'] in '${REALTIME}'.split(',')
        IF    '${record}[unit]' == 'cycles' and ${must}
            Should Be True    ${record}[share_48k] <= 1 - ${MARGIN}
            ...    ${record}[model]: ${record}[median_per_sample] cycles per sample is over ${{100 * (1 - ${MARGIN})}} % of the 48 kHz budget
        END
    END
    ${report}=    Write Timing Report    timing
    Log    timing report: ${report}
