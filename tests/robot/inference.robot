*** Settings ***
Documentation     The amp firmware's audio path over the binary protocol, the same on every target:
...               QEMU (mps2-an500), Renode and a NUCLEO-F767ZI (${TARGET}). The image holds
...               the models in ${MODELS} (comma-separated .vnet files, in table order) with
...               their precisions in ${PRECISIONS}; ${AUDIO} is the built-in test split's input.
Library           ValveNetTarget.py
Suite Setup       Start And Wait For Self Tests
Suite Teardown    Stop Target

*** Variables ***
${TARGET}         qemu
${FIRMWARE}       ${EMPTY}
${MODELS}         ${EMPTY}
${PRECISIONS}     ${EMPTY}
${AUDIO}          ${EMPTY}
${SECONDS}        1.0
# Frame sizes the stream cycles through: one sample, odd, the usual audio block, the largest frame.
${BLOCKS}         1,7,48,1024
${FLOAT_MAX_ERROR}    1e-4
${INT16_MAX_ESR}      1e-3

*** Keywords ***
Start And Wait For Self Tests
    Start Target    ${TARGET}    ${FIRMWARE}
    @{models}=    Evaluate    '${MODELS}'.split(',')
    @{precisions}=    Evaluate    '${PRECISIONS}'.split(',')
    Set Suite Variable    @{MODEL_FILES}    @{models}
    Set Suite Variable    @{MODEL_PRECISIONS}    @{precisions}
    ${count}=    Get Length    ${models}
    ${results}=    Wait For Self Tests    ${count}
    Set Suite Variable    @{SELF_TESTS}    @{results}

Output Should Match Oracle
    [Arguments]    ${index}    ${audio}    ${output}
    ${oracle}=    Oracle Output    ${MODEL_FILES}[${index}]    ${audio}
    ${error}=    Compare Outputs    ${output}    ${oracle}
    IF    '${MODEL_PRECISIONS}[${index}]' == 'float32'
        Should Be True    ${error}[max_abs_error] <= ${FLOAT_MAX_ERROR}    max abs error ${error}[max_abs_error]
    ELSE
        Should Be True    ${error}[esr] <= ${INT16_MAX_ESR}    ESR ${error}[esr]
    END

*** Test Cases ***
Every Model Passes Its Boot Self Test
    FOR    ${result}    IN    @{SELF_TESTS}
        Should Be Equal    ${result}[status]    PASS    self-test: ${result}
    END

Info Matches The Model Files
    FOR    ${index}    ${path}    IN ENUMERATE    @{MODEL_FILES}
        ${info}=    Select Model    ${index}
        ${expected}=    Model File Info    ${path}    ${MODEL_PRECISIONS}[${index}]
        Should Be Equal As Integers    ${info}[protocol_version]    3
        Should Be Equal As Integers    ${info}[model_index]    ${index}
        Should Be Equal    ${info}[name]    ${expected}[name]
        Should Be Equal    ${info}[kind]    ${expected}[kind]
        Should Be Equal    ${info}[precision]    ${MODEL_PRECISIONS}[${index}]
        Should Be Equal As Integers    ${info}[sample_rate]    ${expected}[sample_rate]
        Should Be Equal As Integers    ${info}[parameters]    ${expected}[parameters]
        Should Be Equal As Integers    ${info}[macs_per_sample]    ${expected}[macs_per_sample]
        Should Be Equal As Integers    ${info}[receptive_field]    ${expected}[receptive_field]
        Should Be Equal As Integers    ${info}[weights_crc32]    ${expected}[weights_crc32]
        ${board}=    Expected Board
        Should Be Equal    ${info}[board]    ${board}
        ${version}=    Project Version
        Should Be Equal    ${info}[firmware_version]    ${version}
    END

Streamed Test Audio Matches The Oracle For Every Model
    [Documentation]    ${SECONDS} s of the test split through PROCESS frames of ${BLOCKS} samples.
    ${audio}=    Load Test Audio    ${AUDIO}    ${SECONDS}
    FOR    ${index}    IN RANGE    ${{len($MODEL_FILES)}}
        Select Model    ${index}
        ${output}=    Stream Audio    ${audio}    ${BLOCKS}
        Output Should Match Oracle    ${index}    ${audio}    ${output}
    END

Int16 Engines Are Bit Identical To The Host Build
    [Documentation]    The int16 engine's SMLAD/SSAT path on the Cortex-M7 and its portable C
    ...    path compiled for this machine give the same bits for the same input.
    ${audio}=    Load Test Audio    ${AUDIO}    0.25
    ${checked}=    Set Variable    ${0}
    FOR    ${index}    IN RANGE    ${{len($MODEL_FILES)}}
        IF    '${MODEL_PRECISIONS}[${index}]' != 'int16'    CONTINUE
        Select Model    ${index}
        ${device}=    Stream Audio    ${audio}    48
        ${host}=    Host Int16 Output    ${MODEL_FILES}[${index}]    ${audio}
        Outputs Should Be Identical    ${device}    ${host}
        ${checked}=    Evaluate    ${checked} + 1
    END
    Should Be True    ${checked} > 0    the image holds no int16 model to check

Block Size Does Not Change The Output
    ${audio}=    Load Test Audio    ${AUDIO}    0.1
    Select Model    0
    ${whole}=    Stream Audio    ${audio}    1024
    Reset Engine
    ${split}=    Stream Audio    ${audio}    1,7,48,13
    Outputs Should Be Identical    ${whole}    ${split}

Reset Returns The Engine To Its Initial State
    ${audio}=    Load Test Audio    ${AUDIO}    0.05
    Select Model    0
    ${first}=    Stream Audio    ${audio}    480
    ${carried}=    Stream Audio    ${audio}    480
    Reset Engine
    ${again}=    Stream Audio    ${audio}    480
    Outputs Should Be Identical    ${first}    ${again}
    ${same}=    Evaluate    $first.tobytes() == $carried.tobytes()
    Should Not Be True    ${same}    without RESET the state carries over: the second pass must differ

Int16 Frames Carry Audio Both Ways
    ${audio}=    Load Test Audio    ${AUDIO}    0.1
    Select Model    0
    ${output}=    Stream Audio    ${audio}    48    int16
    ${quantised}=    Evaluate    numpy.round(numpy.asarray($audio) * 32768) / 32768    modules=numpy
    ${oracle}=    Oracle Output    ${MODEL_FILES}[0]    ${quantised}
    ${error}=    Compare Outputs    ${output}    ${oracle}
    # int16 output: one Q15 step (3.1e-5) of rounding on top of the engine's error
    Should Be True    ${error}[max_abs_error] <= 2e-4    max abs error ${error}[max_abs_error]

Stray Bytes, Half Lines And Broken Frames Do Not Stop The Next Frame
    ${audio}=    Load Test Audio    ${AUDIO}    0.01
    Select Model    0
    Reset Engine
    ${reference}=    Stream Audio    ${audio}    96
    ${before}=    Link Stats
    # what each sequence is answered with: the oversized frame's data holds sync words, so
    # more errors may follow its LENGTH; the good INFO frame sent right after a cut-off
    # PROCESS frame is found inside it and answered
    FOR    ${kind}    ${answer}    IN
    ...    stray    ${EMPTY}
    ...    half line    ${EMPTY}
    ...    oversized    LENGTH
    ...    cut then valid    INFO
        Reset Engine
        ${replies}=    Send Link Noise    ${kind}
        IF    '${answer}'
            Should Contain    ${replies}    ${answer}    ${kind}: ${replies}
        END
        ${output}=    Stream Audio    ${audio}    96
        Outputs Should Be Identical    ${output}    ${reference}
    END
    ${after}=    Link Stats
    Should Be True    ${after}[skipped_bytes] >= ${before}[skipped_bytes] + 6    skipped ${before}[skipped_bytes] -> ${after}[skipped_bytes]

Malformed Frames Are Rejected And The Next Good Frame Works
    ${audio}=    Load Test Audio    ${AUDIO}    0.02
    Select Model    0
    Reset Engine
    ${reference}=    Stream Audio    ${audio}    96
    Reset Engine
    ${before}=    Link Stats
    ${first}=    Evaluate    $audio[:480]
    ${rest}=    Evaluate    $audio[480:]
    ${head}=    Stream Audio    ${first}    96
    FOR    ${kind}    ${error}    IN
    ...    sync    SYNC
    ...    length    LENGTH
    ...    crc    CRC
    ...    truncated    TRUNCATED
    ...    type    TYPE
    ...    payload    PAYLOAD
        ${reply}=    Send Malformed Frame    ${kind}
        Should Be Equal    ${reply}    ${error}
    END
    # the stream carries on where it was: the rejected frames touched no state
    ${tail}=    Stream Audio    ${rest}    96
    ${joined}=    Evaluate    numpy.concatenate([$head, $tail])    modules=numpy
    Outputs Should Be Identical    ${joined}    ${reference}
    ${after}=    Link Stats
    FOR    ${field}    IN    rejected_sync    rejected_length    rejected_crc    rejected_truncated    rejected_type    rejected_payload
        ${delta}=    Evaluate    ${after}[${field}] - ${before}[${field}]
        Should Be Equal As Integers    ${delta}    1    ${field}
    END
    Should Be Equal As Integers    ${after}[uart_overruns]    0
