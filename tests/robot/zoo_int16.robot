*** Settings ***
Documentation     The int16 NAM engine's hand-scheduled Cortex-M7 loops (firmware/nn/nam_q15_m7.h:
...               the 2- and 4-channel two-sample tiles and the 8-channel loop) against the
...               portable C path compiled for this machine, bit for bit, on the benchmark
...               image's zoo models (${TARGET}): nam-nano (4- and 2-channel layers) and
...               nam-feather (8- and 4-channel layers), each given by its model file in
...               ${MODELS} (comma-separated name=path). Frame sizes cycle through ${BLOCKS}:
...               odd frames leave a sample for the C tail, 333 spans several sub-blocks.
Library           ValveNetTarget.py
Suite Setup       Start Target And Wait    ${TARGET}    ${FIRMWARE}
Suite Teardown    Stop Target

*** Variables ***
${TARGET}         qemu
${FIRMWARE}       ${EMPTY}
${MODELS}         ${EMPTY}
${AUDIO}          ${EMPTY}
${BLOCKS}         1,7,48,13,333

*** Keywords ***
Start Target And Wait
    [Arguments]    ${target}    ${firmware}
    Start Target    ${target}    ${firmware}
    Wait For Banner    60

*** Test Cases ***
Hand-Scheduled Int16 NAM Loops Are Bit Identical To The Host Build
    ${audio}=    Load Loud Test Audio    ${AUDIO}    0.1
    @{entries}=    Evaluate    '${MODELS}'.split(',')
    Should Not Be Empty    ${entries}    no model to check
    FOR    ${entry}    IN    @{entries}
        ${name}    ${path}=    Evaluate    '${entry}'.split('=', 1)
        Select Model Named    ${name}
        Reset Engine
        ${device}=    Stream Audio    ${audio}    ${BLOCKS}
        ${host}=    Host Int16 Output    ${path}    ${audio}
        Outputs Should Be Identical    ${device}    ${host}
    END
