*** Settings ***
Documentation     A Neural Amp Modeler capture straight to firmware (${TARGET}): the project's own
...               capture ${CAPTURE} (a seeded model written by `valvenet export
...               nam` at build time) built into an amp image the way //models/local builds a
...               user's capture: the int16 engine first (the pedal's, scales calibrated on the
...               synthetic guitar at build time: the converted model file ${INT16_MODEL}), the
...               float32 engine second. Frame sizes cycle through ${BLOCKS}.
Library           ValveNetTarget.py
Suite Setup       Start Target And Wait    ${TARGET}    ${FIRMWARE}
Suite Teardown    Stop Target

*** Variables ***
${TARGET}         qemu
${FIRMWARE}       ${EMPTY}
${CAPTURE}        ${EMPTY}
${INT16_MODEL}    ${EMPTY}
${AUDIO}          ${EMPTY}
${BLOCKS}         1,7,48,333
${FLOAT_MAX_ERROR}    1e-4
# Seeded random weights are harsher on int16 than trained ones (this capture: 3.9e-3, the same
# with scales calibrated on the test audio itself); trained models' 1e-3 is asserted in
# inference.robot. A wrong scale or format gives ESR near 1.
${INT16_MAX_ESR}      1e-2

*** Keywords ***
Start Target And Wait
    [Arguments]    ${target}    ${firmware}
    Start Target    ${target}    ${firmware}
    Wait For Banner    60

Stream From Reset
    [Arguments]    ${index}    ${audio}
    ${info}=    Select Model    ${index}
    Reset Engine
    ${output}=    Stream Audio    ${audio}    ${BLOCKS}
    RETURN    ${output}

*** Test Cases ***
The Capture's Float32 Engine Matches The Capture's Oracle
    ${audio}=    Load Loud Test Audio    ${AUDIO}    0.1
    ${output}=    Stream From Reset    1    ${audio}
    ${oracle}=    Capture Oracle Output    ${CAPTURE}    ${audio}
    ${error}=    Compare Outputs    ${output}    ${oracle}
    Should Be True    ${error}[max_abs_error] <= ${FLOAT_MAX_ERROR}    max abs error ${error}[max_abs_error]

The Capture's Int16 Engine Is The Host Build's And Near The Oracle
    ${audio}=    Load Loud Test Audio    ${AUDIO}    0.1
    ${output}=    Stream From Reset    0    ${audio}
    ${host}=    Host Int16 Output    ${INT16_MODEL}    ${audio}
    Outputs Should Be Identical    ${output}    ${host}
    ${oracle}=    Capture Oracle Output    ${CAPTURE}    ${audio}
    ${error}=    Compare Outputs    ${output}    ${oracle}
    Should Be True    ${error}[esr] <= ${INT16_MAX_ESR}    ESR ${error}[esr]
