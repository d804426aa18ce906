*** Settings ***
Documentation     Boot and console checks of the ValveNet firmware, the same on every target:
...               QEMU (mps2-an500), Renode and a NUCLEO-F767ZI (set with --variable TARGET:...).
Library           ValveNetTarget.py
Test Setup        Start Target    ${TARGET}    ${FIRMWARE}
Test Teardown     Stop Target

*** Variables ***
${TARGET}         qemu
${FIRMWARE}       ${EMPTY}
# Instructions of the counter's own bookkeeping may shift by one 40-instruction tick.
${COUNT_TOLERANCE}    80

*** Test Cases ***
Banner Names Version, Board, Clock And Counter
    ${banner}=    Wait For Banner
    ${version}=    Project Version
    Should Be Equal    ${banner}[version]    ${version}
    ${board}=    Expected Board
    Should Be Equal    ${banner}[board]    ${board}
    Should Match Regexp    ${banner}[rev]    ^([0-9a-f]{12}(-dirty)?|unknown)$
    Should Match Regexp    ${banner}[compiler]    ^gcc-\\d+\\.\\d+\\.\\d+$
    Should Be True    int(${banner}[clock]) > 0
    Should Contain Any    ${banner}[counter]    instructions    cycles    none

Ping Round Trip
    Wait For Banner
    ${reply}=    Send Command    ping
    Should Be Equal    ${reply}    pong

Info Repeats The Banner
    ${banner}=    Wait For Banner
    ${reply}=    Send Command    info
    ${fields}=    Parse Fields    ${reply}
    Should Start With    ${reply}    OK ValveNet ${banner}[version]
    Should Be Equal    ${fields}[board]    ${banner}[board]
    Should Be Equal    ${fields}[rev]    ${banner}[rev]

Work Counter Measures A Known Loop
    [Documentation]    The loop costs exactly 2 instructions per iteration. Under QEMU -icount
    ...    the counter is exact; on a board it counts cycles (at least 1 per iteration);
    ...    where no counter runs (a Renode before 1.16.0, whose DWT is a stub) the firmware
    ...    must say so, and the test passes saying that nothing was measured.
    ${banner}=    Wait For Banner
    IF    '${banner}[counter]' == 'none'
        ${reply}=    Send Command    count 1000
        Should Start With    ${reply}    ERR counter not available
        Pass Execution    not measured: ${TARGET} has no work counter (counter=none), and count says so
    END
    ${small}=    Send Command    count 100000
    ${large}=    Send Command    count 200000
    ${s}=    Parse Fields    ${small}
    ${l}=    Parse Fields    ${large}
    Should Be Equal    ${s}[unit]    ${banner}[counter]
    ${delta}=    Evaluate    int(${l}[elapsed]) - int(${s}[elapsed])
    IF    '${banner}[counter]' == 'instructions'
        Should Be True    abs(${delta} - 200000) <= ${COUNT_TOLERANCE}    instructions for 100000 more iterations: ${delta}
    ELSE
        Should Be True    100000 <= ${delta} <= 800000    cycles for 100000 more iterations: ${delta}
    END

Malformed Input Is Rejected And The Console Recovers
    Wait For Banner
    ${reply}=    Send Command    frobnicate
    Should Be Equal    ${reply}    ERR unknown command: frobnicate
    ${reply}=    Send Command    count 12abc
    Should Start With    ${reply}    ERR count needs an iteration count
    ${long}=    Evaluate    'x' * 500
    ${reply}=    Send Command    ${long}
    Should Start With    ${reply}    ERR line too long
    Send Raw    \x00\xff\x1b[A\r\n
    ${reply}=    Read Reply
    Should Be Equal    ${reply}    ERR non-printable byte in line
    ${reply}=    Send Command    ping
    Should Be Equal    ${reply}    pong

Exit Code Reaches The Emulator
    [Documentation]    Semihosting SYS_EXIT_EXTENDED: only an emulator can report an exit code.
    Skip If    '${TARGET}' != 'qemu'    exit codes are reported by QEMU's semihosting only
    Wait For Banner
    Send Raw    exit 3\n
    Target Should Exit With    3
