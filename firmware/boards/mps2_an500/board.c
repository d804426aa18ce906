/*
 * board.c - QEMU mps2-an500 (ARM AN500: Cortex-M7 on the MPS2 FPGA board).
 *
 * Console: CMSDK APB UART0 at 0x40004000. Counter: SysTick. Under QEMU with
 * `-icount shift=0` one virtual nanosecond is one executed instruction and SysTick runs
 * from the 25 MHz reference clock, so one tick is exactly 40 instructions: the counter
 * below reports instructions. SysTick is only 24 bits wide, so its wrap interrupt
 * extends it into a 32-bit count; board_millis() reads the same ticks as time (25,000 a
 * millisecond of the emulated clock).
 * Exit: ARM semihosting SYS_EXIT_EXTENDED carries the exit code to QEMU's exit status.
 * Audio: no converters, so only BOARD_AUDIO_SOFTWARE, paced by CMSDK TIMER0 (IRQ 8). Its
 * period is set in instructions as if each were one cycle of the NUCLEO's 216 MHz core, so
 * the application's load meter and deadlines see the M7's cycle budget per block (4,500 per
 * sample at 48 kHz): what runs in time here runs in time on the board if its cycles per
 * instruction stay at or under 1.
 */
#include "firmware/boards/board.h"

#include "firmware/boards/common/soft_audio.h"
#include "firmware/boards/common/startup.h"

/* CMSDK APB UART (ARM DDI 0479C, 4.3): DATA, STATE, CTRL, INTSTATUS, BAUDDIV. */
#define UART0_BASE 0x40004000u
#define UART_DATA (*(volatile uint32_t *)(UART0_BASE + 0x00u))
#define UART_STATE (*(volatile uint32_t *)(UART0_BASE + 0x04u))
#define UART_CTRL (*(volatile uint32_t *)(UART0_BASE + 0x08u))
#define UART_BAUDDIV (*(volatile uint32_t *)(UART0_BASE + 0x10u))
#define UART_STATE_TXFULL (1u << 0)
#define UART_STATE_RXFULL (1u << 1)
#define UART_STATE_RXOVERRUN (1u << 3) /* write 1 to clear */
#define UART_CTRL_TXEN (1u << 0)
#define UART_CTRL_RXEN (1u << 1)

/* SysTick (ARMv7-M ARM B3.3): CSR, RVR, CVR. CLKSOURCE=1 selects the processor clock,
 * 25 MHz on the AN500 (QEMU's external reference clock is 1 MHz: too coarse). */
#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define SYST_CSR_ENABLE (1u << 0)
#define SYST_CSR_TICKINT (1u << 1)
#define SYST_CSR_CLKSOURCE (1u << 2)
#define SYST_RELOAD 0x00FFFFFFu
#define INSTRUCTIONS_PER_TICK 40u
#define SCB_ICSR (*(volatile uint32_t *)0xE000ED04u) /* ICSR (B3.2.4) */
#define SCB_ICSR_PENDSTSET (1u << 26)                /* SysTick exception pending */

#define CORE_CLOCK_HZ 25000000u /* the AN500's FPGA clock as QEMU models it */

static volatile uint32_t systick_wraps;

void SysTick_Handler(void) { systick_wraps++; }

void board_init(void) {
  UART_BAUDDIV = CORE_CLOCK_HZ / 115200u;
  UART_CTRL = UART_CTRL_TXEN | UART_CTRL_RXEN;

  systick_wraps = 0u;
  SYST_RVR = SYST_RELOAD;
  SYST_CVR = 0u;
  SYST_CSR = SYST_CSR_ENABLE | SYST_CSR_TICKINT | SYST_CSR_CLKSOURCE;
}

const char *board_name(void) { return "mps2_an500"; }

uint32_t board_core_clock_hz(void) { return CORE_CLOCK_HZ; }

void board_uart_write(const uint8_t *data, size_t len) {
  for (size_t i = 0; i < len; ++i) {
    while (UART_STATE & UART_STATE_TXFULL) {
    }
    UART_DATA = data[i];
  }
}

static uint32_t uart_overruns; /* STATE RXOVERRUN events seen by board_uart_read_byte */

uint32_t board_uart_overruns(void) { return uart_overruns; }

/* No watchdog is modelled: QEMU runs as long as the test that started it. */
void board_watchdog_kick(void) {}

bool board_uart_read_byte(uint8_t *byte) {
  const uint32_t state = UART_STATE;
  if (state & UART_STATE_RXOVERRUN) {
    uart_overruns++;
    UART_STATE = UART_STATE_RXOVERRUN;
  }
  if (!(state & UART_STATE_RXFULL)) {
    return false;
  }
  *byte = (uint8_t)UART_DATA;
  return true;
}

board_counter_unit_t board_counter_unit(void) { return BOARD_COUNTER_INSTRUCTIONS; }

/* SysTick ticks since board_init(), 64 bits (the wrap count extends the 24-bit counter).
 * A wrap whose interrupt is still pending (QEMU takes interrupts only between translation
 * blocks) is counted from ICSR PENDSTSET, with the counter read again after it: without
 * that, time would step back by a whole wrap (671 ms) for a moment. The pending wrap counts
 * only once the counter shows it (reloaded: in its upper half): QEMU may raise the interrupt
 * a moment before the counter reloads, and counting it then would step time forward by a
 * wrap. */
static uint64_t systick_ticks(void) {
  uint32_t seen;
  uint32_t wraps;
  uint32_t current;
  do {
    seen = systick_wraps;
    wraps = seen;
    current = SYST_CVR;
    if (SCB_ICSR & SCB_ICSR_PENDSTSET) {
      current = SYST_CVR;
      if (current > SYST_RELOAD / 2u) {
        wraps++;
      }
    }
  } while (seen != systick_wraps);
  return ((uint64_t)wraps << 24) + (SYST_RELOAD - current);
}

uint32_t board_counter_read(void) { return (uint32_t)systick_ticks() * INSTRUCTIONS_PER_TICK; }

/* Never steps back: should a wrap still be missed for a moment (QEMU updates the counter and
 * raises its interrupt at different times), the last value stands. */
/* No potentiometer: QEMU's AN500 has no ADC. */
bool board_pot_read(uint32_t index, float *position) {
  (void)index;
  (void)position;
  return false;
}

uint32_t board_millis(void) {
  static uint32_t last;
  const uint32_t now = (uint32_t)(systick_ticks() / (CORE_CLOCK_HZ / 1000u));
  if ((int32_t)(now - last) > 0) {
    last = now;
  }
  return last;
}

/* CMSDK APB timer 0 (ARM DDI 0479C, 4.4): CTRL, VALUE, RELOAD, INTSTATUS/INTCLEAR. It counts
 * down at the 25 MHz APB clock and raises IRQ 8 when it reaches zero. */
#define TIMER0_BASE 0x40000000u
#define TIMER0_CTRL (*(volatile uint32_t *)(TIMER0_BASE + 0x00u))
#define TIMER0_VALUE (*(volatile uint32_t *)(TIMER0_BASE + 0x04u))
#define TIMER0_RELOAD (*(volatile uint32_t *)(TIMER0_BASE + 0x08u))
#define TIMER0_INTCLEAR (*(volatile uint32_t *)(TIMER0_BASE + 0x0Cu))
#define TIMER_CTRL_ENABLE (1u << 0)
#define TIMER_CTRL_IRQ_ENABLE (1u << 3)
#define TIMER0_IRQ 8u
#define NVIC_ISER0 (*(volatile uint32_t *)0xE000E100u)
#define NVIC_ICER0 (*(volatile uint32_t *)0xE000E180u)
#define NVIC_ICPR0 (*(volatile uint32_t *)0xE000E280u)

/* The cycle budget the timer paces: the NUCLEO's core clock. */
#define PACED_CLOCK_HZ 216000000u

static soft_audio_t soft_audio;
static board_audio_event_fn audio_event;
static void *audio_context;

void Timer0_Handler(void) {
  TIMER0_INTCLEAR = 1u;
  soft_audio_tick(&soft_audio);
  if (audio_event != NULL) {
    audio_event(audio_context);
  }
}

void board_audio_stop(void) {
  TIMER0_CTRL = 0u;
  NVIC_ICER0 = 1u << TIMER0_IRQ;
  TIMER0_INTCLEAR = 1u;
  NVIC_ICPR0 = 1u << TIMER0_IRQ;
  audio_event = NULL;
}

board_audio_status_t board_audio_start(const board_audio_config_t *config, board_audio_event_fn event,
                                       void *context, board_audio_timing_t *timing) {
  board_audio_stop();
  if (config->source != BOARD_AUDIO_SOFTWARE) {
    return BOARD_AUDIO_UNSUPPORTED_SOURCE;
  }
  /* Period in instructions = 216 MHz cycles per block, rounded to whole 40-instruction ticks. */
  const uint64_t cycles = (uint64_t)PACED_CLOCK_HZ * config->block;
  const uint32_t ticks = (uint32_t)((cycles + (uint64_t)config->sample_rate * INSTRUCTIONS_PER_TICK / 2u) /
                                    ((uint64_t)config->sample_rate * INSTRUCTIONS_PER_TICK));
  const uint32_t period = ticks * INSTRUCTIONS_PER_TICK;
  timing->period_counts = period;
  timing->rate_millihz = (uint32_t)(((uint64_t)PACED_CLOCK_HZ * config->block * 1000u + period / 2u) / period);

  soft_audio_start(&soft_audio, config);
  audio_event = event;
  audio_context = context;
  TIMER0_RELOAD = ticks - 1u; /* the count runs RELOAD..0: RELOAD + 1 ticks per period */
  TIMER0_VALUE = ticks - 1u;
  TIMER0_INTCLEAR = 1u;
  NVIC_ICPR0 = 1u << TIMER0_IRQ;
  NVIC_ISER0 = 1u << TIMER0_IRQ;
  TIMER0_CTRL = TIMER_CTRL_ENABLE | TIMER_CTRL_IRQ_ENABLE;
  return BOARD_AUDIO_OK;
}

void board_audio_read(uint32_t half, float *in, uint32_t n) { soft_audio_read(&soft_audio, half, in, n); }

void board_audio_write(uint32_t half, const float *out, uint32_t n) { soft_audio_write(&soft_audio, half, out, n); }

uint32_t board_audio_sink_length(void) { return soft_audio.sink_length; }

/* ARM semihosting (IHI 0072): SYS_EXIT_EXTENDED (0x20) takes a block of
 * {ADP_Stopped_ApplicationExit, code}, so the emulator exits with `code`. */
void board_exit(int code) {
  uint32_t block[2] = {0x20026u, (uint32_t)code};
  register uint32_t r0 __asm("r0") = 0x20u;
  register uint32_t *r1 __asm("r1") = block;
  __asm volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
  for (;;) {
  }
}

/* Vector table: initial stack pointer, the ARMv7-M system exceptions, then the AN500's
 * external interrupts up to TIMER0 (IRQ 0..7: UARTs, unused, spin if ever taken). */
extern uint32_t __stack_top__;
void Reset_Handler(void) { startup_run(); }

__attribute__((used, section(".isr_vector"))) static void (*const vector_table[16u + TIMER0_IRQ + 1u])(void) = {
    STARTUP_SYSTEM_VECTORS(&__stack_top__, Reset_Handler, SysTick_Handler),
    startup_default_handler, startup_default_handler, startup_default_handler, startup_default_handler,
    startup_default_handler, startup_default_handler, startup_default_handler, startup_default_handler,
    Timer0_Handler,
};

/* No codec on the AN500: the timer-paced software path has no converter faults to count. */
uint32_t board_audio_errors(void) { return 0u; }
