*** Settings ***
Documentation     The pedal's real-time path on ${TARGET}: the block-processing loop the codec's DMA
...               drives on a board, here driven by the timer-paced software source and sink
...               (QEMU's CMSDK timer, Renode's TIM6, or the board's TIM6). A known signal (the
...               built-in test split's input) goes through input gain, noise gate, model
...               (${MODEL}), cabinet (${CABINET}) and output gain; the sink is compared with
...               the numpy oracle chain (valvenet.pedal.chain) sample for sample. Parameter
...               changes must ramp; a forced overload must be counted and recovered from.
Library           ValveNetTarget.py
Suite Setup       Start Pedal
Suite Teardown    Stop Target

*** Variables ***
${TARGET}         qemu
${FIRMWARE}       ${EMPTY}
${MODEL_COUNT}    1
${MODEL}          ${EMPTY}
${CABINET}        ${EMPTY}
${AUDIO}          ${EMPTY}
${BLOCK}          48
${BLOCKS}         300
# float32 model: the oracle bound of the inference suite, through the cabinet's gain.
${MAX_ERROR}      1e-4
${SETTINGS}       input_gain_db=6,gate_threshold_db=-40,output_gain_db=-3
# True where the target has the codec path (SAI + DMA): a board (tests/robot/BUILD CAPABILITIES).
${CODEC}          False

*** Keywords ***
Start Pedal
    Start Target    ${TARGET}    ${FIRMWARE}
    Wait For Self Tests    ${MODEL_COUNT}
    ${taps}=    Cabinet Taps    ${CABINET}    ${MODEL}
    ${seconds}=    Evaluate    ${BLOCKS} * ${BLOCK} / 48000
    ${clip}=    Load Loud Test Audio    ${AUDIO}    ${seconds}
    ${length}=    Load Pedal Source    ${clip}
    Should Be Equal As Integers    ${length}    ${{${BLOCKS} * ${BLOCK}}}
    Set Suite Variable    ${TAPS}    ${taps}
    Set Suite Variable    ${CLIP}    ${clip}

Expected Sink
    [Arguments]    ${record}    ${settings}=${SETTINGS}    ${with_changes}=True
    ${expected}=    Oracle Chain Sink    ${record}    ${MODEL}    ${TAPS}    ${CLIP}    ${settings}
    ...    with_changes=${with_changes}
    RETURN    ${expected}

*** Test Cases ***
Chain Output Matches The Oracle Chain
    ${record}=    Run Pedal Stream    ${BLOCK}    ${BLOCKS}    ${SETTINGS}
    Cabinet Should Be    ${record}    ${TAPS}
    Should Be Equal As Integers    ${record}[stats][audio_missed]    0
    Should Be Equal As Integers    ${record}[stats][audio_processed]    ${BLOCKS}
    ${expected}=    Expected Sink    ${record}
    Pedal Sink Should Match    ${record}    ${expected}    ${MAX_ERROR}
    Record Pedal Load    ${record}    oracle check (48 kHz, block ${BLOCK})

Block Sizes 16 To 128 At 44.1 kHz Match The Oracle Chain
    FOR    ${frames}    IN    16    128
        ${count}=    Evaluate    ${BLOCKS} * ${BLOCK} // ${frames}    # (${blocks} would be ${BLOCKS}: no case)
        ${record}=    Run Pedal Stream    ${frames}    ${count}    ${SETTINGS}    rate=44100    any_rate=True
        Should Be Equal As Integers    ${record}[stats][audio_missed]    0
        ${expected}=    Oracle Chain Sink    ${record}    ${MODEL}    ${TAPS}    ${CLIP}    ${SETTINGS}    rate=44100
        Pedal Sink Should Match    ${record}    ${expected}    ${MAX_ERROR}
        Record Pedal Load    ${record}    oracle check (44.1 kHz, block ${frames})
    END

A Rate The Model Was Not Trained At Is Refused Unless Asked For
    # The model runs at 48 kHz: a 44.1 kHz stream is refused, saying why (the case above asks).
    ${message}=    Audio Start Should Be Refused    ${BLOCK}    44100
    Should Be Equal    ${message}    rate 44100 Hz: the model runs at 48000 Hz
    ${message}=    Audio Start Should Be Refused    8    48000
    Should Be Equal    ${message}    block 8: 16..128 frames
    ${reply}=    Send Command    pedal start 44100
    Should Be Equal    ${reply}    ERR rate 44100 Hz: the model runs at 48000 Hz

Parameter Changes Ramp Without Clicks
    # -12 dB over a 20 ms ramp at block 100, then bypass at block 200 (cross-fade, then the dry input).
    ${settings}=    Set Variable    ${SETTINGS},ramp_ms=20
    ${record}=    Run Pedal Stream    ${BLOCK}    ${BLOCKS}    ${settings}    output_gain_db=-15@100,bypass=1@200
    Should Be Equal As Integers    ${record}[stats][audio_missed]    0
    ${expected}=    Expected Sink    ${record}    ${settings}
    Pedal Sink Should Match    ${record}    ${expected}    ${MAX_ERROR}
    ${reference}=    Expected Sink    ${record}    ${settings}    with_changes=False
    Gain Ramp Should Be Smooth    ${record}    ${reference}    100    -12    20
    Bypassed Output Should Equal Input    ${record}    ${CLIP}    ${{200 + 20 * 48 // ${BLOCK} + 1}}

Live Parameter Change Applies At A Reported Block
    Start Live Stream    ${BLOCK}    ${SETTINGS}
    # (Robot variable names ignore case: ${BLOCK} is the block size, ${at} the change's block)
    ${at}=    Change Live Parameter    output_gain_db    -9
    ${record}=    Stop Live Stream    ${BLOCK}
    Should Be True    0 <= ${at} < ${record}[blocks] - 30    applied at block ${at} of ${record}[blocks]
    Should Be Equal As Integers    ${record}[stats][audio_missed]    0
    ${expected}=    Expected Sink    ${record}
    Pedal Sink Should Match    ${record}    ${expected}    ${MAX_ERROR}
    ${reference}=    Expected Sink    ${record}    with_changes=False
    Gain Ramp Should Be Smooth    ${record}    ${reference}    ${at}    -6    10

Forced Overload Is Counted And Recovered
    # 150 % of the block period of extra work per block from block 60 to 70.
    ${record}=    Run Pedal Stream    ${BLOCK}    ${BLOCKS}    ${SETTINGS}    stress_percent=150@60,stress_percent=0@70
    ${result}=    Overload Should Be Recovered    ${record}
    ${load}=    Load Should Show The Overload    ${record}
    Log    maximum load under the stress: ${load}
    ${expected}=    Expected Sink    ${record}
    Pedal Sink Should Match    ${record}    ${expected}    ${MAX_ERROR}    from_block=${result}[stress_to]
    ${again}=    Run Pedal Stream    ${BLOCK}    100    ${SETTINGS}
    Should Be Equal As Integers    ${again}[stats][audio_missed]    0

A Change For A Block The Stream Never Reaches Is Answered With An Error
    ${error}=    Scheduled Change Past The End Should Fail    ${BLOCK}    output_gain_db=-20@500    100
    Should Contain    ${error}    the stream stopped before

Model Requests Are Refused While Streaming
    Start Live Stream    ${BLOCK}
    Request Should Be Refused    PROCESS    BUSY
    Request Should Be Refused    SOURCE    BUSY
    ${record}=    Stop Live Stream    ${BLOCK}
    ${out}=    Stream Audio    ${{__import__('numpy').zeros(48, 'float32')}}    48
    Length Should Be    ${out}    48

The Console Controls The Pedal
    ${reply}=    Send Command    pedal set output_gain_db -6
    Should Be Equal    ${reply}    OK pedal output_gain_db=-6
    ${reply}=    Send Command    pedal set volume 3
    Should Start With    ${reply}    ERR pedal set NAME VALUE
    ${reply}=    Send Command    pedal
    Should Start With    ${reply}    OK pedal running=0
    Start Live Stream    ${BLOCK}
    ${reply}=    Send Command    selftest
    Should Be Equal    ${reply}    ERR the audio stream is running: pedal stop first
    ${reply}=    Send Command    pedal
    Should Match Regexp    ${reply}    ^OK pedal running=1 rate=48000.000 block=${BLOCK} blocks=\\d+ missed=0 dropped=0 load_avg=\\d+\\.\\d% load_max=
    ${reply}=    Send Command    pedal stop
    Should Start With    ${reply}    OK pedal running=0
    ${info}=    Firmware Info    # the binary link is in step: no stray PARAM reply from the console's change
    ${reply}=    Send Command    pedal start
    IF    ${CODEC}
        Should Start With    ${reply}    OK pedal running=1    # the board's codec stream
        Send Command    pedal stop
    ELSE
        # no SAI model in QEMU or Renode: the codec path is refused, saying so, and not run
        Should Start With    ${reply}    ERR this board cannot stream from a codec
        Log    codec path not run: ${TARGET} has no codec (CODEC=${CODEC})    WARN
        ${reply}=    Send Command    ping
        Should Be Equal    ${reply}    pong
    END
